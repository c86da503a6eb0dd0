-- The chat buffer: a markdown scratch buffer where each message has a header and
-- answers stream in at an extmark (appending, never rewriting the buffer).
local api = vim.api
local notify = require('hybrid.notify')
local state = require('hybrid.state')

local M = {}

local ns = api.nvim_create_namespace('hybrid_chat')
local PROMPT_HEADER = '## You'

local chats_created = 0

local chat = {
  id = nil, -- a new id per chat buffer: a wiped buffer's conversation is gone with it
  buf = nil,
  streaming = false,
  header_mark = nil, -- the answer's header line, filled in when the host says who answers
  answer_mark = nil, -- where the next streamed text goes
}

local function buf_valid() return chat.buf ~= nil and api.nvim_buf_is_valid(chat.buf) end

local function chat_win()
  if not buf_valid() then return nil end
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == chat.buf then return win end
  end
end

local function close_window()
  local win = chat_win()
  if not win then return end
  if #api.nvim_tabpage_list_wins(0) == 1 and #api.nvim_list_tabpages() == 1 then
    -- Last window: show another buffer rather than fail with E444.
    api.nvim_win_call(win, function() vim.cmd('enew') end)
  else
    api.nvim_win_close(win, false)
  end
end

local function is_busy() return chat.streaming end

local function cancel_or_leave_insert()
  if is_busy() then
    M.cancel()
  else
    vim.cmd('stopinsert')
  end
end

local function set_keymaps(buf)
  local function map(modes, lhs, rhs, desc)
    vim.keymap.set(modes, lhs, rhs, { buffer = buf, nowait = true, silent = true, desc = 'hybrid: ' .. desc })
  end
  map('n', '<CR>', function() M.send_prompt() end, 'send the prompt')
  map({ 'n', 'i' }, '<C-x>', function() require('hybrid.picker').backend() end, 'pick the backend')
  map('n', '<C-c>', function() M.cancel() end, 'cancel the answer')
  map('i', '<C-c>', cancel_or_leave_insert, 'cancel the answer')
  map('n', 'q', close_window, 'close the chat window')
end

local function create_buf()
  chats_created = chats_created + 1
  chat.id = tostring(chats_created)
  local buf = api.nvim_create_buf(false, true)
  pcall(api.nvim_buf_set_name, buf, 'hybrid://chat')
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  api.nvim_buf_set_lines(buf, 0, -1, false, { PROMPT_HEADER, '' })
  vim.bo[buf].filetype = 'markdown'
  set_keymaps(buf)
  chat.buf = buf
  api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      -- The buffer is gone: stop its answer so nothing waits for a place to write.
      if chat.streaming then
        M.cancel()
        state.inflight = math.max(0, state.inflight - 1)
      end
      chat.buf, chat.streaming, chat.header_mark, chat.answer_mark = nil, false, nil, nil
    end,
  })
end

local function open_window()
  local chat_opts = require('hybrid.options').values.chat
  local layout = chat_opts.layout
  if layout == 'float' then
    local width = math.floor(vim.o.columns * 0.8)
    local height = math.floor((vim.o.lines - 2) * 0.8)
    api.nvim_open_win(chat.buf, true, {
      relative = 'editor', width = width, height = height, style = 'minimal', border = 'rounded',
      row = math.floor((vim.o.lines - height) / 2) - 1, col = math.floor((vim.o.columns - width) / 2),
      title = ' hybrid ', title_pos = 'center',
    })
  elseif layout == 'tab' then
    vim.cmd('tab sbuffer ' .. chat.buf)
  elseif layout == 'vsplit' then
    local size = chat_opts.size or math.max(60, math.floor(vim.o.columns / 3))
    vim.cmd(('botright vertical %dsplit'):format(size))
    api.nvim_win_set_buf(0, chat.buf)
  else
    local size = chat_opts.size or math.max(10, math.floor(vim.o.lines / 3))
    vim.cmd(('botright %dsplit'):format(size))
    api.nvim_win_set_buf(0, chat.buf)
  end
  vim.wo.wrap = true
  vim.wo.linebreak = true
end

--- Show the chat and put the cursor in it (creating the buffer on first use).
function M.open()
  -- Opening the chat is first use: start the host so config errors and state show now.
  require('hybrid.host').ensure()
  if not buf_valid() then create_buf() end
  local win = chat_win()
  if win then
    api.nvim_set_current_win(win)
  else
    open_window()
  end
  local last = api.nvim_buf_line_count(chat.buf)
  api.nvim_win_set_cursor(0, { last, 0 })
end

--- :HybridChat with no text: close when focused, else open or focus.
function M.toggle()
  local win = chat_win()
  if win and win == api.nvim_get_current_win() then
    close_window()
  else
    M.open()
  end
end

local function prompt_header_row(lines)
  for i = #lines, 1, -1 do
    if lines[i] == PROMPT_HEADER then return i end
  end
end

local function trim(s) return (s:gsub('^%s+', ''):gsub('%s+$', '')) end

--- <CR>: send what is written under the last '## You'.
function M.send_prompt()
  if not buf_valid() then return end
  local lines = api.nvim_buf_get_lines(chat.buf, 0, -1, false)
  local row = prompt_header_row(lines)
  if not row then
    api.nvim_buf_set_lines(chat.buf, -1, -1, false, { '', PROMPT_HEADER, '' })
    notify.warn("write your message under '" .. PROMPT_HEADER .. "', then press <CR>")
    return
  end
  local text = trim(table.concat(vim.list_slice(lines, row + 1), '\n'))
  if text == '' then
    notify.warn("write your message under '" .. PROMPT_HEADER .. "', then press <CR>")
    return
  end
  M.submit(text, row)
end

--- Send `text`, already shown below the prompt header at `row` (1-based).
function M.submit(text, row, opts)
  if is_busy() then
    notify.warn('an answer is still streaming; cancel it with <C-c> or :HybridCancel')
    return
  end
  if not require('hybrid.host').send('hybrid_chat', chat.id, text, opts or vim.empty_dict()) then return end
  local buf = chat.buf
  -- Tidy the prompt area to exactly the sent text, then a header waiting for its author.
  local shown = vim.split(text, '\n', { plain = true })
  api.nvim_buf_set_lines(buf, row, -1, false, shown)
  local last = api.nvim_buf_line_count(buf)
  api.nvim_buf_set_lines(buf, last, last, false, { '', '## …', '' })
  chat.header_mark = api.nvim_buf_set_extmark(buf, ns, last + 1, 0, {})
  chat.answer_mark = api.nvim_buf_set_extmark(buf, ns, last + 2, 0, {})
  chat.streaming = true
  state.inflight = state.inflight + 1
  M.follow_all(true)
end

--- :HybridChat {text}: open the chat, put text in the prompt and send it.
--- opts.path: the file the text came from (its name can make the chat local-only).
function M.ask(text, opts)
  M.open()
  local lines = api.nvim_buf_get_lines(chat.buf, 0, -1, false)
  local row = prompt_header_row(lines)
  if not row or is_busy() then
    if is_busy() then
      notify.warn('an answer is still streaming; cancel it with <C-c> or :HybridCancel')
      return
    end
    api.nvim_buf_set_lines(chat.buf, -1, -1, false, { '', PROMPT_HEADER })
    row = api.nvim_buf_line_count(chat.buf)
  end
  M.submit(text, row, opts)
end

--- Keep windows that show the end of the chat at its end as text arrives.
function M.follow_all(force)
  local last = api.nvim_buf_line_count(chat.buf)
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == chat.buf then
      local cur = api.nvim_win_get_cursor(win)[1]
      if force or cur >= last - 1 or vim.w[win].hybrid_following then
        api.nvim_win_set_cursor(win, { last, 0 })
      end
    end
  end
end

local function mark_pos(id)
  local pos = api.nvim_buf_get_extmark_by_id(chat.buf, ns, id, {})
  return pos[1], pos[2]
end

local function insert_at_answer(text)
  local row, col = mark_pos(chat.answer_mark)
  if not row then return end
  text = text:gsub('\r\n', '\n'):gsub('%z', '')
  local was_following = {}
  local last = api.nvim_buf_line_count(chat.buf)
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == chat.buf then
      was_following[win] = api.nvim_win_get_cursor(win)[1] >= last
    end
  end
  api.nvim_buf_set_text(chat.buf, row, col, row, col, vim.split(text, '\n', { plain = true }))
  local new_last = api.nvim_buf_line_count(chat.buf)
  for win, follow in pairs(was_following) do
    if follow and api.nvim_win_is_valid(win) then api.nvim_win_set_cursor(win, { new_last, 0 }) end
  end
end

local function ours(ev) return ev.chat == chat.id and buf_valid() and chat.streaming end

function M.on_turn_start(ev)
  if not ours(ev) then return end
  local row = mark_pos(chat.header_mark)
  if row then
    local header = ev.backend and ('## %s · %s · %s · %s'):format(ev.kind, ev.backend, ev.model, ev.reason)
      or ('## not sent · %s'):format(ev.reason)
    api.nvim_buf_set_lines(chat.buf, row, row + 1, false, { header })
    -- Replacing the line moves the mark; a fallback's second header must land here too.
    api.nvim_buf_set_extmark(chat.buf, ns, row, 0, { id = chat.header_mark })
  end
end

function M.on_delta(ev)
  if not ours(ev) then return end
  insert_at_answer(ev.text)
end

local endings = {
  cancelled = function() return '_[cancelled]_' end,
  incomplete = function(msg) return '_[incomplete: ' .. (msg or 'the stream ended early') .. ']_' end,
  error = function(msg) return '> **error:** ' .. (msg or 'the request failed') end,
}

local function finish(status, message)
  local row, col = mark_pos(chat.answer_mark)
  local marker = endings[status]
  if not marker and message then
    marker = function(msg) return '_[' .. msg .. ']_' end
  end
  local tail = { '' } -- the first item continues the answer's last line
  if marker then
    local line = api.nvim_buf_get_lines(chat.buf, row, row + 1, false)[1] or ''
    if col > 0 or line ~= '' then table.insert(tail, '') end
    table.insert(tail, marker(message))
  end
  vim.list_extend(tail, { '', PROMPT_HEADER, '' })
  insert_at_answer(table.concat(tail, '\n'))
  api.nvim_buf_del_extmark(chat.buf, ns, chat.header_mark)
  api.nvim_buf_del_extmark(chat.buf, ns, chat.answer_mark)
  chat.header_mark, chat.answer_mark = nil, nil
  chat.streaming = false
  state.inflight = math.max(0, state.inflight - 1)
end

function M.on_turn_end(ev)
  if not ours(ev) then return end
  finish(ev.status, ev.message)
  if ev.status == 'error' then
    notify.error(ev.message or 'the request failed')
  elseif ev.status == 'incomplete' then
    notify.warn(ev.message or 'the answer is incomplete')
  end
end

--- The host died: whatever streamed stays, marked as interrupted.
function M.on_host_exit()
  if buf_valid() and chat.streaming then finish('error', 'the Python host stopped; the answer is interrupted') end
end

function M.cancel()
  local host = require('hybrid.host')
  if host.running() then host.send('hybrid_cancel') end
end

function M.buf() return buf_valid() and chat.buf or nil end
function M.id() return chat.id end

return M
