-- Writing attachments in the chat prompt: the picker key (vim.ui.select, then the buffer or the
-- path) puts one at the end of the message; completion (the complete key, or <C-x><C-o>)
-- completes the kinds after `#`, buffer names after `#buffer:` and paths after `#file:`.
local api = vim.api
local attach = require('hybrid.attach')
local prompt = require('hybrid.chat.prompt')

local M = {}

local WHAT = {
  buffer = 'the buffer the chat was opened from', ['buffer:'] = 'another loaded buffer, by name',
  ['file:'] = 'a file, as saved on disk', selection = 'the last visual selection (whole lines)',
  diagnostics = "the buffer's diagnostics, with the lines around each", diff = "the buffer's git diff",
  ['diff:repo'] = "the repository's git diff", quickfix = 'the quickfix list',
}
local CHOICES = { 'buffer', 'buffer:', 'file:', 'selection', 'diagnostics', 'diff', 'diff:repo', 'quickfix' }

local function buffer_names()
  local names = {}
  for _, b in ipairs(api.nvim_list_bufs()) do
    local name = api.nvim_buf_get_name(b)
    if vim.bo[b].buflisted and name ~= '' and vim.b[b].hybrid_chat_id == nil then
      table.insert(names, vim.fn.fnamemodify(name, ':~:.'))
    end
  end
  return names
end

-- `token` written at the end of chat c's message (a space before it when needed).
local function put(c, token)
  if not api.nvim_buf_is_valid(c.buf) then return end
  local row = prompt.ensure(c.buf)
  local last = api.nvim_buf_line_count(c.buf)
  local line = api.nvim_buf_get_lines(c.buf, last - 1, last, false)[1]
  local text = (last == row or line == '' or line:match('%s$')) and token or (' ' .. token)
  if last == row then
    api.nvim_buf_set_lines(c.buf, last, last, false, { token })
  else
    api.nvim_buf_set_text(c.buf, last - 1, #line, last - 1, #line, { text })
  end
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == c.buf then
      local n = api.nvim_buf_line_count(c.buf)
      api.nvim_win_set_cursor(win, { n, #api.nvim_buf_get_lines(c.buf, n - 1, n, false)[1] })
    end
  end
end

--- The picker key: choose an attachment, and it is written into chat c's message.
function M.pick(c)
  vim.ui.select(CHOICES, {
    prompt = '(hybrid) attach', kind = 'hybrid_attach',
    format_item = function(choice) return ('#%-12s %s'):format(choice, WHAT[choice]) end,
  }, function(choice)
    if not choice then return end
    if choice == 'buffer:' then
      vim.ui.select(buffer_names(), { prompt = '(hybrid) attach the buffer' }, function(name)
        if name then put(c, '#buffer:' .. name) end
      end)
    elseif choice == 'file:' then
      vim.ui.input({ prompt = '(hybrid) attach the file: ', completion = 'file' }, function(path)
        if path and vim.trim(path) ~= '' then put(c, '#file:' .. attach.escape(vim.trim(path))) end
      end)
    else
      put(c, '#' .. choice)
    end
  end)
end

-- The attachment being written before the cursor: its start column (0-based), or nil.
local function token_start()
  local col = api.nvim_win_get_cursor(0)[2]
  local before = api.nvim_get_current_line():sub(1, col)
  local at = before:gsub('\\ ', '__'):find('#%a*:?[^%s]*$') -- (an escaped space is part of it)
  if at and (at == 1 or before:sub(at - 1, at - 1):match('[%s(%[]')) then return at - 1 end
end

local function starting(items, base)
  return vim.tbl_filter(function(s) return vim.startswith(s, base) end, items)
end

--- 'omnifunc' of the chat buffer (what <C-x><C-o> and the complete key run).
function M.omnifunc(findstart, base)
  if findstart == 1 then return token_start() or -3 end
  local kind, arg = base:match('^#(%a+):(.*)$')
  local out = {}
  if kind == 'file' then
    for _, path in ipairs(vim.fn.getcompletion((arg:gsub('\\ ', ' ')), 'file')) do
      table.insert(out, '#file:' .. attach.escape(path))
    end
  elseif kind == 'buffer' then
    out = vim.tbl_map(function(n) return '#buffer:' .. n end, starting(buffer_names(), arg))
  elseif kind == 'diff' then
    out = starting({ '#diff:repo' }, base)
  else
    for _, choice in ipairs(CHOICES) do
      if attach.KINDS[choice:match('^%a+')] then table.insert(out, { word = '#' .. choice, menu = WHAT[choice] }) end
    end
    out = vim.tbl_filter(function(item) return vim.startswith(item.word, base) end, out)
  end
  return out
end

--- The complete key (insert mode): completion after an attachment being written, else the key
--- itself; the next match while the menu is open.
function M.complete_key(lhs)
  if vim.fn.pumvisible() == 1 then return '<C-n>' end
  if token_start() then return '<C-x><C-o>' end
  return lhs
end

return M
