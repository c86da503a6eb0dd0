-- Chat buffers: markdown scratch buffers where each message has a header and answers stream in
-- (see :help hybrid-chat). Several chats may stream at once; the host saves each one as it
-- streams (see :help hybrid-chats). This module is the API and the registry of this session's
-- chats; layout.lua is their text, window.lua their buffers and windows, prompt.lua the message
-- being written, stream.lua an answer coming in.
local api = vim.api
local notify = require('hybrid.notify')
local rpc = require('hybrid.rpc')
local layout = require('hybrid.chat.layout')
local window = require('hybrid.chat.window')
local stream = require('hybrid.chat.stream')
local prompt = require('hybrid.chat.prompt')
local attached = require('hybrid.chat.attached')

local M = {}

local BUSY = 'an answer is still streaming in this chat; cancel it with <C-c> or :HybridCancel'

-- Each chat: { id, buf, streaming, loading, queued, origin }, stream.lua's marks, attached.lua's.
local chats = {}
local current_id = nil -- the chat :HybridChat shows
local restored = false -- the session's first :HybridChat reopens the newest saved chat
local created = 0

local function valid(c) return c ~= nil and c.buf ~= nil and api.nvim_buf_is_valid(c.buf) end

local function new_id()
  created = created + 1
  return ('%s-%d-%d'):format(os.date('%Y%m%d-%H%M%S'), vim.fn.getpid(), created)
end

local function current()
  local c = chats[current_id]
  return valid(c) and c or nil
end

--- The chat shown in the current buffer, else the current chat.
local function here()
  local id = vim.b.hybrid_chat_id
  if id and valid(chats[id]) then return chats[id] end
  return current()
end
M.here = here

local function show(c)
  current_id = c.id
  attached.remember_origin(c) -- (the window it is opened from, unless that is a chat)
  window.show(c)
end

-- <C-c> in a chat stops that chat's answer; :HybridCancel stops everything.
local function cancel_this()
  local c = here()
  if c and c.streaming then rpc.cancel(c.id) end
end

local function cancel_or_leave_insert()
  local c = here()
  if c and c.streaming then
    cancel_this()
  else
    vim.cmd('stopinsert')
  end
end

local function create(id)
  local c = { id = id, streaming = false }
  chats[id] = c
  window.create_buffer(c, {
    send = function() M.send_prompt() end,
    cancel = cancel_this,
    cancel_insert = cancel_or_leave_insert,
    wipeout = function()
      -- The buffer is gone (its saved file stays): stop its answer, nothing waits to write.
      if c.streaming then rpc.cancel(c.id) end
      c.buf, c.streaming = nil, false
      if chats[c.id] == c then chats[c.id] = nil end
    end,
  })
  return c
end

local send_in -- defined below; a loaded chat sends what was queued while it loaded

local function adopt_id(c, id)
  if id == c.id then return end
  if current_id == c.id then current_id = id end
  chats[c.id] = nil
  c.id = id
  chats[id] = c
  vim.b[c.buf].hybrid_chat_id = id
  window.name(c)
end

--- Ask the host for a saved chat (nil: the newest not open here) and show it in `c`; queued
--- text is sent after.
local function load_into(c, id)
  c.loading = true
  rpc.chat_open(id, vim.tbl_keys(chats), function(saved, err)
    c.loading = false
    if not valid(c) then return end
    if err then
      notify.error('could not open the saved chat: ' .. err)
    elseif saved and saved.id and not valid(chats[saved.id]) then
      -- (A chat opened here since the request, and saved by now, is not the one to restore.)
      adopt_id(c, saved.id)
      local places = {}
      api.nvim_buf_set_lines(c.buf, 0, -1, false, layout.saved(saved, places))
      attached.restore(c, places)
      window.follow(c, true)
    end
    local queued = c.queued
    c.queued = nil
    if queued then send_in(c, queued.text, queued.opts) end
  end)
end

--- Show the current chat; the session's first call reopens the newest saved chat.
function M.open()
  -- Opening the chat is first use: start the host so config errors and state show now.
  local host = require('hybrid.host')
  host.ensure()
  local c = current()
  if not c then
    c = create(new_id())
    if not restored and host.running() then
      restored = true
      load_into(c, nil)
    end
  end
  show(c)
  rpc.warm() -- load the local model now, so the chat's first answer does not wait for it
  return c
end

--- :HybridChat new: a fresh chat (the others stay saved, :HybridChats lists them).
function M.new()
  require('hybrid.host').ensure()
  restored = true
  show(create(new_id()))
  rpc.warm()
end

--- Open the saved chat `id` (focus it when it is already loaded).
function M.open_saved(id)
  local c = chats[id]
  if valid(c) then return show(c) end
  restored = true
  c = create(id)
  show(c)
  load_into(c, id)
end

--- Forget chat `id` (its file is deleted by the host): close its buffer.
function M.forget(id)
  local c = chats[id]
  if valid(c) and not c.streaming then api.nvim_buf_delete(c.buf, { force = true }) end
end

--- :HybridChat with no text: close when focused, else open or focus.
function M.toggle()
  if window.is_chat_buf(api.nvim_get_current_buf()) then
    window.close()
  else
    M.open()
  end
end

--- <CR>: send what is written under the last PROMPT.
function M.send_prompt()
  local c = here()
  if not c then return end
  local row = prompt.row(c.buf)
  if not row then
    api.nvim_buf_set_lines(c.buf, -1, -1, false, { '', layout.PROMPT, '' })
    window.follow(c, true)
    return notify.warn("no '" .. layout.PROMPT .. "' line after the last answer; write your message under the new one")
  end
  local text = prompt.text(c.buf, row)
  if text == '' then
    notify.warn("write your message under '" .. layout.PROMPT .. "', then press <CR>")
    return
  end
  if prompt.command(text) then
    api.nvim_buf_set_lines(c.buf, row, -1, false, { '' }) -- the command is not a message
    return
  end
  M.submit(c, text, row)
end

--- Send `text`, already shown below the prompt header at `row` (1-based), in chat `c`. Its
--- attachments are read now; opts.range: the lines it is about (a code block applies there).
function M.submit(c, text, row, opts)
  if c.streaming then return notify.warn(BUSY) end
  local range = opts and opts.range
  local sent, items = require('hybrid.attach').request_opts(text, c.origin, opts)
  sent.range, sent.fresh = nil, row == 1 or nil -- fresh: no earlier turn for the host to load
  if not rpc.chat(c.id, text, sent) then return end
  prompt.set(c.buf, row, text) -- the prompt area tidied to exactly the sent text
  attached.begin(c, row, text, { origin = c.origin, range = attached.track(range or attached.selection(items)) },
    #items > 0)
  stream.begin(c)
end

-- Put `text` in chat c's prompt and send it (once the saved chat is shown, if it is loading).
function send_in(c, text, opts)
  if c.loading then
    c.queued = { text = text, opts = opts }
    return
  end
  if c.streaming then return notify.warn(BUSY) end
  M.submit(c, text, prompt.ensure(c.buf), opts)
end

--- :HybridChat {text}: open the chat, put text in the prompt and send it.
--- opts.path: the file the text came from (its name can make the chat local-only).
function M.ask(text, opts)
  if prompt.command(text) then return end
  send_in(M.open(), text, opts)
end

--- :HybridRetry [backend]: redo the chat's last turn (the failed answer stays above).
function M.retry(backend)
  local c = here()
  if not c then return notify.warn('no chat to retry in; :HybridChat opens one') end
  if c.streaming or c.loading then return notify.warn(BUSY) end
  prompt.drop_empty(c.buf) -- the new answer goes where the empty prompt was
  if not rpc.retry(c.id, backend) then return end
  show(c)
  stream.begin(c)
end

-- Events from the host (bridge.lua) -------------------------------------------------------

-- A handler for the answer an event is for, if its chat is still shown and waiting for it.
local function for_answer(fn)
  return function(ev)
    local c = chats[ev.chat]
    if valid(c) and c.streaming then fn(c, ev) end
  end
end

M.on_attachments = for_answer(function(c, ev) attached.show(c, ev.items or {}) end)
M.on_turn_start = for_answer(function(c, ev) stream.header(c, ev) end)
M.on_progress = for_answer(function(c, ev) stream.status(c, ev.message) end)
M.on_delta = for_answer(function(c, ev) stream.text(c, ev.text) end)

local function one_line(c, msg) return vim.fn.bufwinid(c.buf) == -1 and msg or notify.fit(msg) end -- (it's in the chat)

M.on_turn_end = for_answer(function(c, ev)
  stream.finish(c, ev.status, ev.message)
  if ev.status == 'error' then
    notify.error(one_line(c, ev.message or 'the request failed'))
  elseif ev.status == 'incomplete' then
    notify.warn(one_line(c, ev.message or 'the answer is incomplete'))
  end
end)

--- The host died: whatever streamed stays, marked as interrupted (the file has it too).
function M.on_host_exit()
  for _, c in pairs(chats) do
    if valid(c) then
      c.loading = false
      if c.streaming then stream.finish(c, 'interrupted', 'the Python host stopped; :HybridRetry tries again') end
    end
  end
end

--- How many chats wait for an answer here.
function M.streaming()
  local n = 0
  for _, c in pairs(chats) do
    if valid(c) and c.streaming then n = n + 1 end
  end
  return n
end

--- Stop every answer in flight (the host cancels asks too); say so when nothing runs.
function M.cancel()
  local state = require('hybrid.state')
  if not require('hybrid.host').running() or (state.inflight == 0 and not state.busy()) then
    return notify.info('nothing to cancel: no answer or edit is streaming')
  end
  rpc.cancel()
end

--- The current chat's buffer and id (nil before the first :HybridChat).
function M.buf() local c = current(); return c and c.buf or nil end
function M.id() local c = current(); return c and c.id or nil end

--- Every chat buffer of this session: { id = buf }.
function M.buffers()
  local out = {}
  for id, c in pairs(chats) do
    if valid(c) then out[id] = c.buf end
  end
  return out
end

return M
