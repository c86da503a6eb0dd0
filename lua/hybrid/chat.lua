-- Chat buffers: markdown scratch buffers where each message has a header and answers
-- stream in at an extmark (appending, never rewriting the buffer). Several chats may
-- stream at once; the host saves each one as it streams (see :help hybrid-chats).
local api = vim.api
local notify = require('hybrid.notify')
local options = require('hybrid.options')
local state = require('hybrid.state')
require('hybrid.highlights')

local M = {}

local ns = api.nvim_create_namespace('hybrid_chat')
local PROMPT_HEADER = '## You'
local BUSY = 'an answer is still streaming in this chat; cancel it with <C-c> or :HybridCancel'

-- Each chat: { id, buf, streaming, header_mark, answer_mark, status_mark, loading, queued }
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

local function is_chat_buf(buf) return vim.b[buf].hybrid_chat_id ~= nil end

local function chat_win(c)
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == c.buf then return win end
  end
end

local function any_chat_win()
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if is_chat_buf(api.nvim_win_get_buf(win)) then return win end
  end
end

local function close_window()
  local win = api.nvim_get_current_win()
  if not is_chat_buf(api.nvim_win_get_buf(win)) then return end
  if #api.nvim_tabpage_list_wins(0) == 1 and #api.nvim_list_tabpages() == 1 then
    -- Last window: show another buffer rather than fail with E444.
    vim.cmd('enew')
  else
    api.nvim_win_close(win, false)
  end
end

-- <C-c> in a chat stops that chat's answer; :HybridCancel stops everything.
local function cancel_this()
  local c = here()
  if c and c.streaming then require('hybrid.rpc').cancel(c.id) end
end

local function cancel_or_leave_insert()
  local c = here()
  if c and c.streaming then
    cancel_this()
  else
    vim.cmd('stopinsert')
  end
end

-- setup{ chat = { keys = ... } } names them; false leaves one unmapped.
local function set_keymaps(buf)
  local keys = options.values.chat.keys
  local function map(modes, lhs, rhs, desc)
    if not lhs then return end
    vim.keymap.set(modes, lhs, rhs, { buffer = buf, nowait = true, silent = true, desc = 'hybrid: ' .. desc })
  end
  map('n', keys.send, function() M.send_prompt() end, 'send the prompt')
  map({ 'n', 'i' }, keys.backend, function() require('hybrid.picker').backend() end, 'pick the backend')
  map('n', keys.cancel, cancel_this, 'cancel the answer')
  map('i', keys.cancel, cancel_or_leave_insert, 'cancel the answer')
  map('n', keys.close, close_window, 'close the chat window')
end

local function name_buf(c) pcall(api.nvim_buf_set_name, c.buf, 'hybrid://chat/' .. c.id) end

local function create(id)
  local c = { id = id, buf = api.nvim_create_buf(false, true), streaming = false }
  chats[id] = c
  local buf = c.buf
  name_buf(c)
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  api.nvim_buf_set_lines(buf, 0, -1, false, { PROMPT_HEADER, '' })
  vim.bo[buf].filetype = 'markdown'
  vim.b[buf].hybrid_chat_id = id
  set_keymaps(buf)
  api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      -- The buffer is gone (its saved file stays): stop its answer, nothing waits to write.
      if c.streaming then require('hybrid.rpc').cancel(c.id) end
      c.buf, c.streaming = nil, false
      if chats[c.id] == c then chats[c.id] = nil end
    end,
  })
  return c
end

local function open_window(buf)
  local chat_opts = options.values.chat
  local layout = chat_opts.layout
  if layout == 'float' then
    local width = math.floor(vim.o.columns * 0.8)
    local height = math.floor((vim.o.lines - 2) * 0.8)
    api.nvim_open_win(buf, true, {
      relative = 'editor', width = width, height = height, style = 'minimal', border = 'rounded',
      row = math.floor((vim.o.lines - height) / 2) - 1, col = math.floor((vim.o.columns - width) / 2),
      title = ' hybrid ', title_pos = 'center',
    })
  elseif layout == 'tab' then
    vim.cmd('tab sbuffer ' .. buf)
  elseif layout == 'vsplit' then
    local size = chat_opts.size or math.max(60, math.floor(vim.o.columns / 3))
    vim.cmd(('botright vertical %dsplit'):format(size))
    api.nvim_win_set_buf(0, buf)
  else
    local size = chat_opts.size or math.max(10, math.floor(vim.o.lines / 3))
    vim.cmd(('botright %dsplit'):format(size))
    api.nvim_win_set_buf(0, buf)
  end
  vim.wo.wrap = true
  vim.wo.linebreak = true
end

--- Show chat `c` (in the window of another chat when one is open) with the cursor at its end.
local function show(c)
  current_id = c.id
  local win = chat_win(c) or any_chat_win()
  if win then
    api.nvim_set_current_win(win)
    if api.nvim_win_get_buf(win) ~= c.buf then api.nvim_win_set_buf(win, c.buf) end
  else
    open_window(c.buf)
  end
  api.nvim_win_set_cursor(0, { api.nvim_buf_line_count(c.buf), 0 })
end

-- How a finished answer ends, by status.
local endings = {
  cancelled = function() return '_[cancelled]_' end,
  incomplete = function(msg) return '_[incomplete: ' .. (msg or 'the stream ended early') .. ']_' end,
  error = function(msg) return '> **error:** ' .. (msg or 'the request failed') end,
  refused = function(msg) return '> **error:** ' .. (msg or 'not sent') end,
  interrupted = function(msg) return '_[interrupted: ' .. (msg or 'Neovim or the host stopped while it streamed') .. ']_' end,
}

local function header_for(who)
  if who.backend then return ('## %s · %s · %s · %s'):format(who.kind, who.backend, who.model, who.reason) end
  return ('## not sent · %s'):format(who.reason or '')
end

local function split(text) return vim.split(text, '\n', { plain = true }) end

-- An answer line longer than this (bytes) goes on in the next buffer line. Appending each
-- flush to one endless line would copy that line (and keep an undo copy of it) every time,
-- which grows quadratically: 10 MB without a newline stalled the editor for seconds. The
-- saved chat and the history keep the text as it came.
local LONG_LINE = 1000

--- `lines` with none longer than LONG_LINE, cut between characters; the first continues a
--- buffer line that already holds `col` bytes.
local function wrap_long(lines, col)
  local out = {}
  for i, line in ipairs(lines) do
    local room, pos = LONG_LINE - (i == 1 and col or 0), 1
    while #line - pos + 1 > room do
      local cut = pos -- the first byte of the next piece
      if room > 0 then
        cut = pos + room
        cut = cut + vim.str_utf_start(line, cut)
      end
      table.insert(out, line:sub(pos, cut - 1))
      pos, room = cut, LONG_LINE
    end
    table.insert(out, pos == 1 and line or line:sub(pos))
  end
  return out
end

--- Fill a chat's buffer from its saved turns (every earlier turn, partial answers marked).
local function render(c, saved)
  local lines = {}
  for _, turn in ipairs(saved.turns or {}) do
    if not turn.retry then
      table.insert(lines, PROMPT_HEADER)
      vim.list_extend(lines, wrap_long(split(turn.user), 0))
      table.insert(lines, '')
    end
    -- Laid out as finish() lays out a live answer, so a reopened chat looks the same.
    table.insert(lines, header_for(turn.who or {}))
    if turn.answer ~= '' then vim.list_extend(lines, wrap_long(split(turn.answer), 0)) end
    local marker = endings[turn.status]
    if marker then
      if lines[#lines] ~= '' then table.insert(lines, '') end
      table.insert(lines, marker(turn.message))
    end
    table.insert(lines, '')
  end
  vim.list_extend(lines, { PROMPT_HEADER, '' })
  api.nvim_buf_set_lines(c.buf, 0, -1, false, lines)
end

local send_in -- defined below; a loaded chat sends what was queued while it loaded

local function adopt_id(c, id)
  if id == c.id then return end
  if current_id == c.id then current_id = id end
  chats[c.id] = nil
  c.id = id
  chats[id] = c
  vim.b[c.buf].hybrid_chat_id = id
  name_buf(c)
end

--- Ask the host for a saved chat (nil: the newest not open here) and show it in `c`; queued
--- text is sent after.
local function load_into(c, id)
  c.loading = true
  require('hybrid.rpc').chat_open(id, vim.tbl_keys(chats), function(saved, err)
    c.loading = false
    if not valid(c) then return end
    if err then
      notify.error('could not open the saved chat: ' .. err)
    elseif saved and saved.id and not valid(chats[saved.id]) then
      -- (A chat opened here since the request, and saved by now, is not the one to restore.)
      adopt_id(c, saved.id)
      render(c, saved)
      M.follow_all(c, true)
    end
    local queued = c.queued
    c.queued = nil
    if queued then send_in(c, queued.text, queued.opts) end
  end)
end

-- Load the local model now, so the chat's first answer does not wait for it.
local function warm_up()
  require('hybrid.rpc').warm()
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
  warm_up()
  return c
end

--- :HybridChat new: a fresh chat (the others stay saved, :HybridChats lists them).
function M.new()
  require('hybrid.host').ensure()
  restored = true
  show(create(new_id()))
  warm_up()
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
  if is_chat_buf(api.nvim_get_current_buf()) then
    close_window()
  else
    M.open()
  end
end

local function is_answer_header(line)
  return line == '## …' or line:match('^## not sent · ') ~= nil or line:match('^## %a+ · ') ~= nil
end

--- The row (1-based) of the '## You' the message is written under: the last one after the last
--- answer, nil if there is none. A header with the message joined onto it ('## Youwhy…', as
--- <C-u> on the empty line under it leaves) is split back into header and message first, so
--- the previous question and answer are never taken for the new message.
local function prompt_header_row(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local damaged
  for i = #lines, 1, -1 do
    local line = lines[i]
    if line == PROMPT_HEADER then return i end
    if is_answer_header(line) then break end
    if not damaged and vim.startswith(line, PROMPT_HEADER) then damaged = i end
  end
  if not damaged then return nil end
  local rest = lines[damaged]:sub(#PROMPT_HEADER + 1):gsub('^%s+', '')
  api.nvim_buf_set_lines(buf, damaged - 1, damaged, false, { PROMPT_HEADER, rest })
  return damaged
end

local function trim(s) return (s:gsub('^%s+', ''):gsub('%s+$', '')) end

-- `/preset [name]` in a chat picks a preset instead of sending a message. True when handled.
local function slash_command(text)
  local name = text:match('^/preset%s*(%S*)%s*$')
  if not name then return false end
  require('hybrid.picker').choose('preset', name)
  return true
end

local function text_under(buf, row)
  return trim(table.concat(api.nvim_buf_get_lines(buf, row, -1, false), '\n'))
end

--- <CR>: send what is written under the last '## You'.
function M.send_prompt()
  local c = here()
  if not c then return end
  local row = prompt_header_row(c.buf)
  if not row then
    api.nvim_buf_set_lines(c.buf, -1, -1, false, { '', PROMPT_HEADER, '' })
    M.follow_all(c, true)
    return notify.warn("no '" .. PROMPT_HEADER .. "' line after the last answer; write your message under the new one")
  end
  local text = text_under(c.buf, row)
  if text == '' then
    notify.warn("write your message under '" .. PROMPT_HEADER .. "', then press <CR>")
    return
  end
  if slash_command(text) then
    api.nvim_buf_set_lines(c.buf, row, -1, false, { '' }) -- the command is not a message
    return
  end
  M.submit(c, text, row)
end

-- A header waiting for its author, and the mark where the answer streams in.
local function begin_answer(c)
  local last = api.nvim_buf_line_count(c.buf)
  api.nvim_buf_set_lines(c.buf, last, last, false, { '', '## …', '' })
  c.header_mark = api.nvim_buf_set_extmark(c.buf, ns, last + 1, 0, {})
  c.answer_mark = api.nvim_buf_set_extmark(c.buf, ns, last + 2, 0, {})
  c.streaming = true
  M.follow_all(c, true)
end

--- Send `text`, already shown below the prompt header at `row` (1-based), in chat `c`.
function M.submit(c, text, row, opts)
  if c.streaming then return notify.warn(BUSY) end
  if not require('hybrid.rpc').chat(c.id, text, opts) then return end
  -- Tidy the prompt area to exactly the sent text, then the answer's header.
  api.nvim_buf_set_lines(c.buf, row, -1, false, split(text))
  begin_answer(c)
end

-- Put `text` in chat c's prompt and send it (once the saved chat is shown, if it is loading).
function send_in(c, text, opts)
  if c.loading then
    c.queued = { text = text, opts = opts }
    return
  end
  if c.streaming then return notify.warn(BUSY) end
  local row = prompt_header_row(c.buf)
  if not row then
    api.nvim_buf_set_lines(c.buf, -1, -1, false, { '', PROMPT_HEADER })
    row = api.nvim_buf_line_count(c.buf)
  end
  M.submit(c, text, row, opts)
end

--- :HybridChat {text}: open the chat, put text in the prompt and send it.
--- opts.path: the file the text came from (its name can make the chat local-only).
function M.ask(text, opts)
  if slash_command(text) then return end
  send_in(M.open(), text, opts)
end

--- :HybridRetry [backend]: redo the chat's last turn (the failed answer stays above).
function M.retry(backend)
  local c = here()
  if not c then return notify.warn('no chat to retry in; :HybridChat opens one') end
  if c.streaming or c.loading then return notify.warn(BUSY) end
  -- Drop the empty prompt at the end; the new answer goes where it was.
  local row = prompt_header_row(c.buf)
  if row and text_under(c.buf, row) == '' then
    local above = row > 1 and api.nvim_buf_get_lines(c.buf, row - 2, row - 1, false)[1] or nil
    api.nvim_buf_set_lines(c.buf, above == '' and row - 2 or row - 1, -1, false, {})
  end
  if not require('hybrid.rpc').retry(c.id, backend) then return end
  show(c)
  begin_answer(c)
end

--- Keep windows that show the end of chat `c` at its end as text arrives.
function M.follow_all(c, force)
  local last = api.nvim_buf_line_count(c.buf)
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == c.buf then
      local cur = api.nvim_win_get_cursor(win)[1]
      if force or cur >= last - 1 then api.nvim_win_set_cursor(win, { last, 0 }) end
    end
  end
end

local function mark_pos(c, id)
  local pos = api.nvim_buf_get_extmark_by_id(c.buf, ns, id, {})
  return pos[1], pos[2]
end

local function insert_at_answer(c, text)
  local row, col = mark_pos(c, c.answer_mark)
  if not row then return end
  text = text:gsub('\r\n', '\n'):gsub('%z', '')
  local was_following = {}
  local last = api.nvim_buf_line_count(c.buf)
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == c.buf then
      was_following[win] = api.nvim_win_get_cursor(win)[1] >= last
    end
  end
  api.nvim_buf_set_text(c.buf, row, col, row, col, wrap_long(split(text), col))
  local new_last = api.nvim_buf_line_count(c.buf)
  for win, follow in pairs(was_following) do
    if follow and api.nvim_win_is_valid(win) then api.nvim_win_set_cursor(win, { new_last, 0 }) end
  end
end

-- The chat an event is for, if it is still shown and waiting for it.
local function target(ev)
  local c = chats[ev.chat]
  return valid(c) and c.streaming and c or nil
end

-- The status line under the header (a retry, a fallback) goes once the answer starts.
local function clear_status(c)
  if c.status_mark then
    pcall(api.nvim_buf_del_extmark, c.buf, ns, c.status_mark)
    c.status_mark = nil
  end
end

function M.on_turn_start(ev)
  local c = target(ev)
  if not c then return end
  clear_status(c)
  local row = mark_pos(c, c.header_mark)
  if row then
    api.nvim_buf_set_lines(c.buf, row, row + 1, false, { header_for(ev) })
    -- Replacing the line moves the mark; a fallback's second header must land here too.
    api.nvim_buf_set_extmark(c.buf, ns, row, 0, { id = c.header_mark })
  end
end

--- What the answer waits for (a retry, a fallback), as a status line under its header: shown
--- where the user looks, not as a message (no hit-enter prompt, nothing added to the chat).
function M.on_progress(ev)
  local c = target(ev)
  if not c then return end
  local row = mark_pos(c, c.header_mark)
  if not row then return end
  c.status_mark = api.nvim_buf_set_extmark(c.buf, ns, row, 0,
    { id = c.status_mark, virt_lines = { { { ev.message, 'HybridStatus' } } } })
end

function M.on_delta(ev)
  local c = target(ev)
  if not c then return end
  clear_status(c)
  insert_at_answer(c, ev.text)
end

local function finish(c, status, message)
  clear_status(c)
  local row, col = mark_pos(c, c.answer_mark)
  local marker = endings[status]
  if not marker and message then
    marker = function(msg) return '_[' .. msg .. ']_' end
  end
  local tail = { '' } -- the first item continues the answer's last line
  if marker then
    local line = api.nvim_buf_get_lines(c.buf, row, row + 1, false)[1] or ''
    if col > 0 or line ~= '' then table.insert(tail, '') end
    table.insert(tail, marker(message))
  end
  vim.list_extend(tail, { '', PROMPT_HEADER, '' })
  insert_at_answer(c, table.concat(tail, '\n'))
  api.nvim_buf_del_extmark(c.buf, ns, c.header_mark)
  api.nvim_buf_del_extmark(c.buf, ns, c.answer_mark)
  c.header_mark, c.answer_mark = nil, nil
  c.streaming = false
end

function M.on_turn_end(ev)
  local c = target(ev)
  if not c then return end
  finish(c, ev.status, ev.message)
  if ev.status == 'error' then
    notify.error(ev.message or 'the request failed')
  elseif ev.status == 'incomplete' then
    notify.warn(ev.message or 'the answer is incomplete')
  end
end

--- The host died: whatever streamed stays, marked as interrupted (the file has it too).
function M.on_host_exit()
  for _, c in pairs(chats) do
    if valid(c) then
      c.loading = false
      if c.streaming then finish(c, 'interrupted', 'the Python host stopped; :HybridRetry tries again') end
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
  local host = require('hybrid.host')
  if not host.running() or (state.inflight == 0 and not state.busy()) then
    return notify.info('nothing to cancel: no answer or edit is streaming')
  end
  require('hybrid.rpc').cancel()
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
