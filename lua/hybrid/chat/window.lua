-- A chat's buffer and the windows that show it: the scratch buffer with its keys, the window
-- setup{ chat = { layout } } asks for, and keeping the cursor at the end as text arrives.
local api = vim.api
local options = require('hybrid.options')
local layout = require('hybrid.chat.layout')

local M = {}

function M.is_chat_buf(buf) return vim.b[buf].hybrid_chat_id ~= nil end

function M.name(c) pcall(api.nvim_buf_set_name, c.buf, 'hybrid://chat/' .. c.id) end

-- setup{ chat = { keys = ... } } names them; false leaves one unmapped.
local function set_keymaps(c, on)
  local keys = options.values.chat.keys
  local function map(modes, lhs, rhs, desc, expr)
    if not lhs then return end
    vim.keymap.set(modes, lhs, rhs, { buffer = c.buf, nowait = true, silent = true, expr = expr, desc = 'hybrid: ' .. desc })
  end
  map('n', keys.send, on.send, 'send the prompt')
  map({ 'n', 'i' }, keys.backend, function() require('hybrid.picker').backend() end, 'pick the backend')
  map('n', keys.cancel, on.cancel, 'cancel the answer')
  map('i', keys.cancel, on.cancel_insert, 'cancel the answer')
  map('n', keys.close, M.close, 'close the chat window')
  map({ 'n', 'i' }, keys.attach, function() require('hybrid.chat.attach_picker').pick(c) end, 'attach context')
  map('i', keys.complete, function() return require('hybrid.chat.attach_picker').complete_key(keys.complete) end,
    'complete an attachment', true)
  map('n', keys.preview, function() require('hybrid.chat.attached').preview(c) end, 'preview the attachment')
  map('n', keys.apply, function() require('hybrid.chat.apply').apply() end, 'apply the code block')
end

--- Make chat c's buffer (an empty prompt). on: the keys' actions (send, cancel, cancel_insert)
--- and wipeout(), run when the buffer is wiped out.
function M.create_buffer(c, on)
  local buf = api.nvim_create_buf(false, true)
  c.buf = buf
  M.name(c)
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  api.nvim_buf_set_lines(buf, 0, -1, false, { layout.PROMPT, '' })
  vim.bo[buf].filetype = 'markdown' -- (FileType plugins such as render-markdown.nvim run)
  if options.values.chat.highlight then require('hybrid.chat.highlight').attach(buf) end
  vim.b[buf].hybrid_chat_id = c.id
  vim.bo[buf].omnifunc = "v:lua.require'hybrid.chat.attach_picker'.omnifunc"
  set_keymaps(c, on)
  api.nvim_create_autocmd('BufWipeout', { buffer = buf, once = true, callback = on.wipeout })
  -- #buffer and the like read the window the chat was entered from.
  api.nvim_create_autocmd('WinEnter', { buffer = buf, callback = function() require('hybrid.chat.attached').entered(c) end })
end

local function win_showing(pred)
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if pred(api.nvim_win_get_buf(win)) then return win end
  end
end

--- Close the current window if it shows a chat.
function M.close()
  local win = api.nvim_get_current_win()
  if not M.is_chat_buf(api.nvim_win_get_buf(win)) then return end
  if #api.nvim_tabpage_list_wins(0) == 1 and #api.nvim_list_tabpages() == 1 then
    -- Last window: show another buffer rather than fail with E444.
    vim.cmd('enew')
  else
    api.nvim_win_close(win, false)
  end
end

local function open_window(buf)
  local chat_opts = options.values.chat
  local how = chat_opts.layout
  if how == 'float' then
    local width = math.floor(vim.o.columns * 0.8)
    local height = math.floor((vim.o.lines - 2) * 0.8)
    api.nvim_open_win(buf, true, {
      relative = 'editor', width = width, height = height, style = 'minimal', border = 'rounded',
      row = math.floor((vim.o.lines - height) / 2) - 1, col = math.floor((vim.o.columns - width) / 2),
      title = ' hybrid ', title_pos = 'center',
    })
  elseif how == 'tab' then
    vim.cmd('tab sbuffer ' .. buf)
  elseif how == 'vsplit' then
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

--- Show chat c (in the window of another chat when one is open) with the cursor at its end.
function M.show(c)
  local win = win_showing(function(buf) return buf == c.buf end) or win_showing(M.is_chat_buf)
  if win then
    api.nvim_set_current_win(win)
    if api.nvim_win_get_buf(win) ~= c.buf then api.nvim_win_set_buf(win, c.buf) end
  else
    open_window(c.buf)
  end
  api.nvim_win_set_cursor(0, { api.nvim_buf_line_count(c.buf), 0 })
end

--- Keep windows that show the end of chat c at its end as text arrives (all of them: `force`).
function M.follow(c, force)
  local last = api.nvim_buf_line_count(c.buf)
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == c.buf then
      local cur = api.nvim_win_get_cursor(win)[1]
      if force or cur >= last - 1 then api.nvim_win_set_cursor(win, { last, 0 }) end
    end
  end
end

--- Windows showing chat c, and whether each is at the buffer's end (to stay there after an insert).
function M.followers(c)
  local at_end = {}
  local last = api.nvim_buf_line_count(c.buf)
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == c.buf then at_end[win] = api.nvim_win_get_cursor(win)[1] >= last end
  end
  return at_end
end

--- Put the windows that were at the end (followers() before an insert) at the end again.
function M.refollow(c, at_end)
  local last = api.nvim_buf_line_count(c.buf)
  for win, follow in pairs(at_end) do
    if follow and api.nvim_win_is_valid(win) then api.nvim_win_set_cursor(win, { last, 0 }) end
  end
end

return M
