-- User autocommands for configs and other plugins (see :help hybrid-events). They fire after
-- the editor has shown what they announce, with the details in the autocommand's `data`.
local M = {}

local function fire(pattern, data)
  vim.api.nvim_exec_autocmds('User', { pattern = pattern, modeline = false, data = data })
end

local E = require('hybrid.rpc').events

local function kind_and_id(ev)
  if ev.type == E.ask_start or ev.type == E.ask_end then return 'ask', ev.id end
  return 'chat', ev.chat
end

--- A request goes out (again after a fallback, to the other backend).
function M.request_start(ev)
  local kind, id = kind_and_id(ev)
  if not ev.backend then return end -- refused before any backend was chosen
  fire('HybridRequestStart', { kind = kind, id = id, backend = ev.backend, model = ev.model, side = ev.kind,
    reason = ev.reason })
end

--- A request ended, however it ended; cost and tokens as the ledger recorded them.
function M.request_done(ev)
  local kind, id = kind_and_id(ev)
  local last = ev.last or {}
  fire('HybridRequestDone', { kind = kind, id = id, status = ev.status, message = ev.message,
    backend = last.backend, model = last.model, tokens_in = last.tokens_in, tokens_out = last.tokens_out,
    cost_usd = last.cost_usd, estimated = last.estimated, ttft_ms = last.ttft_ms, duration_ms = last.duration_ms })
end

local shown = nil -- backend, model and mode last reported

--- The active backend, its model or the mode changed (not on the host's first report).
function M.state(state)
  local now = { backend = state.backend, model = state.model, mode = state.mode }
  local before = shown
  shown = now
  if before and (before.backend ~= now.backend or before.model ~= now.model or before.mode ~= now.mode) then
    fire('HybridBackendChanged', { backend = now.backend, model = now.model, mode = now.mode, previous = before })
  end
end

function M.reset() shown = nil end

--- An edit from :HybridAsk was applied to its buffer.
function M.edit_applied(data) fire('HybridEditApplied', data) end

return M
