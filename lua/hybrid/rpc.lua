-- The Lua half of the protocol with the Python host: every method the editor calls and every
-- event the host pushes, named here and nowhere else in lua/. The Python half is the shim
-- (rplugin/python3/hybrid/__init__.py, one export per method) and the events the core builds;
-- tests/test_protocol.py checks that both halves name the same things.
--
-- Every call is a notification, so none blocks the editor. A call with an answer sends a
-- reply id first and the host answers with a `reply` event (host.request matches them up).
local M = {}

--- Methods, as the host exports them: what each takes (→ what its reply carries).
M.methods = {
  start = 'hybrid_start', -- { config, data_dir, restore }: the first call to each new host
  chat = 'hybrid_chat', -- chat id, text, opts { path?, attachments?, cwd? }: send a message in a chat
  retry = 'hybrid_retry', -- chat id, backend ('' = routed as before): redo the chat's last turn
  ask = 'hybrid_ask', -- ask id, payload (with attachments?, cwd?): rewrite a selection (:HybridAsk)
  cancel = 'hybrid_cancel', -- stream id (nil: every stream)
  backend = 'hybrid_backend', -- name ('auto' routes each request)
  model = 'hybrid_model', -- name, for the active backend
  preset = 'hybrid_preset', -- name
  warm = 'hybrid_warm', -- load the local model now (the chat opened)
  confirm = 'hybrid_confirm', -- confirm id, yes: the user's answer to a `confirm` event
  -- With an answer:
  chat_open = 'hybrid_chat_open', -- chat id (nil: the newest), ids to skip → saved chat or nil
  chats = 'hybrid_chats', -- → saved chats { id, title, updated }, newest first
  chat_delete = 'hybrid_chat_delete', -- chat id
  models = 'hybrid_models', -- backend (nil: the active one) → { backend, kind, models }
  route = 'hybrid_route', -- text, opts { path?, role?, chat?, attachments?, cwd? } → the decision (a dry run)
  corrections = 'hybrid_corrections', -- forget → { items }
  stats = 'hybrid_stats', -- → usage per period, backend and model
}

--- Events the host pushes, one batch per flush (bridge.lua dispatches them), and their fields.
M.events = {
  state = 'state', -- state: backend, model, mode, busy, preset, choice, last, spend, backends, presets
  notify = 'notify', -- message, level
  reply = 'reply', -- id, result or error: the answer to a call with a reply id
  confirm = 'confirm', -- id, message: a question for the user (answered with methods.confirm)
  attachments = 'attachments', -- chat, items: a message's attachments, read and checked (attach.lua)
  turn_start = 'turn_start', -- chat, backend, model, kind, reason: who answers (again after a fallback)
  delta = 'delta', -- chat (a stream id), text
  progress = 'progress', -- chat (a stream id), message: a retry or a fallback under way
  turn_end = 'turn_end', -- chat, status, message, last
  ask_start = 'ask_start', -- id, backend, model, kind, reason
  ask_end = 'ask_end', -- id, status, message, lines, last
}

-- Streams ---------------------------------------------------------------------------------
-- A chat's stream id is the chat's id; an edit's is 'ask:' .. its ask id.

local ASK = 'ask:'

function M.ask_stream(ask_id) return ASK .. ask_id end

--- The ask id in a stream id; nil when the stream is a chat's.
function M.ask_id(stream)
  if type(stream) == 'string' and stream:sub(1, #ASK) == ASK then return stream:sub(#ASK + 1) end
end

-- Calls -------------------------------------------------------------------------------------
-- (host is looked up at each call: it starts the host on first use, and tests may wrap it.)

local function send(method, ...) return require('hybrid.host').send(method, ...) end
local function request(method, cb, ...) return require('hybrid.host').request(method, cb, ...) end

--- Notifications: false when the host cannot run (it has said why).
function M.chat(chat_id, text, opts) return send(M.methods.chat, chat_id, text, opts or vim.empty_dict()) end
function M.retry(chat_id, backend) return send(M.methods.retry, chat_id, backend or '') end
function M.ask(ask_id, payload) return send(M.methods.ask, ask_id, payload) end
function M.cancel(stream) return send(M.methods.cancel, stream) end
function M.cancel_ask(ask_id) return M.cancel(M.ask_stream(ask_id)) end
function M.confirm(confirm_id, yes) return send(M.methods.confirm, confirm_id, yes) end

--- Set the backend, model or preset (`what`) to `name`.
function M.choose(what, name)
  local method = ({ backend = M.methods.backend, model = M.methods.model, preset = M.methods.preset })[what]
  return send(assert(method, what), name)
end

--- Load the local model now, if the host runs (opening a chat must not start it twice).
function M.warm()
  if require('hybrid.host').running() then send(M.methods.warm) end
end

--- Calls with an answer: cb(result, err) runs when the host replies.
function M.chat_open(chat_id, exclude, cb) request(M.methods.chat_open, cb, chat_id, exclude) end
function M.chats(cb) request(M.methods.chats, cb) end
function M.chat_delete(chat_id, cb) request(M.methods.chat_delete, cb, chat_id) end
function M.models(backend, cb) request(M.methods.models, cb, backend) end
function M.route(text, opts, cb) request(M.methods.route, cb, text, opts) end
function M.corrections(forget, cb) request(M.methods.corrections, cb, forget) end
function M.stats(cb) request(M.methods.stats, cb) end

-- How long the synchronous API waits: the first call also waits for the host to start.
local WAIT_MS = 30000

--- Wait for the answer of `call(cb)` (the editor waits too; for the public API's synchronous
--- forms only). Returns the result, or nil after saying what went wrong, prefixed by `what`.
function M.wait(what, call)
  if not require('hybrid.host').ensure() then return nil end -- (it has said why)
  local done, result, err = false, nil, nil
  call(function(r, e) done, result, err = true, r, e end)
  if not vim.wait(WAIT_MS, function() return done end, 1) then
    err = 'the Python host did not answer in time'
  end
  if err then
    require('hybrid.notify').error(what .. ': ' .. err)
    return nil
  end
  return result
end

return M
