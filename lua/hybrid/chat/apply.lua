-- Applying a code block of a chat answer (the apply key, <Plug>(hybrid-apply)) through the
-- :HybridAsk review: same highlights, accept/reject keys and one undo. Its target is the range
-- the question was about, else the attached buffer whose filetype matches the block, else the
-- cursor line of the window the chat was opened from. A target that changed since the question
-- gets nothing, and the user is told why (as :HybridAsk does).
local api = vim.api
local notify = require('hybrid.notify')
local layout = require('hybrid.chat.layout')
local attached = require('hybrid.chat.attached')

local M = {}

local NOT_ON_BLOCK = 'put the cursor on a code block of an answer to apply it'

-- Fence languages that name a filetype by another name.
local ALIASES = { python3 = 'python', py = 'python', js = 'javascript', node = 'javascript', ts = 'typescript',
  bash = 'sh', shell = 'sh', zsh = 'sh', rs = 'rust', golang = 'go', ['c++'] = 'cpp', yml = 'yaml', viml = 'vim',
  vimscript = 'vim', md = 'markdown' }

local function fence_of(line)
  local fence, lang = line:match('^%s*(```+)%s*([^%s`]*)')
  if not fence then fence, lang = line:match('^%s*(~~~+)%s*(%S*)') end
  return fence, lang
end

--- The code block of an answer around `row` (1-based) in `lines`: { lang, lines, header }, or nil.
function M.block_at(lines, row)
  local header
  for i = row, 1, -1 do
    if lines[i] == layout.PROMPT then return nil end
    if layout.is_answer_header(lines[i]) then
      header = i
      break
    end
  end
  if not header then return nil end
  local open
  for i = header + 1, #lines do
    local fence, lang = fence_of(lines[i])
    if open and fence and vim.trim(lines[i]):match('^' .. vim.pesc(open.fence:sub(1, 1)) .. '+$')
        and #vim.trim(lines[i]) >= #open.fence then
      if row >= open.at and row <= i then
        return { lang = open.lang:lower(), lines = vim.list_slice(lines, open.at + 1, i - 1), header = lines[header] }
      end
      open = nil
    elseif not open and fence then
      open = { at = i, fence = fence, lang = lang }
    elseif not open and (i > row or lines[i] == layout.PROMPT) then
      return nil
    end
  end
end

local function matches(filetype, lang)
  if lang == '' or lang == filetype then return true end
  return (ALIASES[lang] or vim.filetype.match({ filename = 'x.' .. lang })) == filetype
end

local function buffer_of(path)
  local buf = vim.fn.bufadd(path)
  vim.fn.bufload(buf)
  return buf
end

local function split(text) return vim.split(text or '', '\n', { plain = true }) end

-- What the block replaces: { buf, srow, erow, original (what it held when asked), what }.
local function target(c, row, lang)
  local turn = attached.turn_at(c, row) or {}
  if turn.range and api.nvim_buf_is_valid(turn.range.buf) then
    local srow, erow = attached.where(turn.range)
    return { buf = turn.range.buf, srow = srow, erow = erow, original = turn.range.lines, what = 'the lines asked about' }
  end
  for _, item in ipairs(turn.items or {}) do
    if item.kind == 'selection' and item.path and item.first and not item.error then
      local original = split(item.text)
      return { buf = buffer_of(item.path), srow = item.first - 1, erow = item.first + #original - 2,
        original = original, what = item.name }
    end
  end
  for _, item in ipairs(turn.items or {}) do
    if (item.kind == 'buffer' or item.kind == 'file') and item.path and not item.error
        and matches(item.filetype or '', lang) then
      local buf = buffer_of(item.path)
      return { buf = buf, srow = 0, erow = api.nvim_buf_line_count(buf) - 1, original = split(item.text), what = item.name }
    end
  end
  local origin = turn.origin or c.origin
  if origin and api.nvim_win_is_valid(origin.win) then
    local buf = api.nvim_win_get_buf(origin.win)
    local cursor = api.nvim_win_get_cursor(origin.win)[1] - 1
    return { buf = buf, srow = cursor, erow = cursor, win = origin.win }
  end
end

local function unchanged(t)
  if not t.original then return true end
  if not t.srow or not t.erow then return false end
  return vim.deep_equal(api.nvim_buf_get_lines(t.buf, t.srow, t.erow + 1, false), t.original)
end

-- The target's window becomes the current one (the review's keys are there).
local function focus(buf, c)
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == buf then return api.nvim_set_current_win(win) end
  end
  local origin = c.origin and c.origin.win
  if origin and api.nvim_win_is_valid(origin) then
    api.nvim_set_current_win(origin)
  else
    vim.cmd('topleft split')
  end
  api.nvim_win_set_buf(0, buf)
end

--- The apply key in a chat: the code block under the cursor, reviewed in its target.
function M.apply()
  local c = require('hybrid.chat').here()
  if not c or api.nvim_get_current_buf() ~= c.buf then return notify.warn('apply a code block from a chat buffer') end
  local row = api.nvim_win_get_cursor(0)[1]
  local block = M.block_at(api.nvim_buf_get_lines(c.buf, 0, -1, false), row)
  if not block then return notify.warn(NOT_ON_BLOCK) end
  local t = target(c, row - 1, block.lang)
  if not t then return notify.warn('nothing to apply it to: open the chat from the window to change (:HybridChat)') end
  if not unchanged(t) then
    local name = vim.fn.fnamemodify(api.nvim_buf_get_name(t.buf), ':~:.')
    return notify.error(('%s in %s changed since the question; nothing applied'):format(t.what, name))
  end
  local _, backend, model = unpack(vim.split(block.header:sub(4), ' · ', { plain = true }))
  focus(t.buf, c)
  require('hybrid.ask').review({ buf = t.buf, mode = 'line', srow = t.srow, erow = t.erow }, block.lines,
    { backend = backend, model = model, reason = 'from the chat' })
end

return M
