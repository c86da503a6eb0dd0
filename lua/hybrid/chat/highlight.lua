-- The chat's own markdown highlighting, drawn by a decoration provider for the lines on screen
-- only. Neovim's regex markdown syntax re-runs its patterns over the window on every redraw
-- while an answer streams in: ~60% of the editor's time in a burst (bench/highlight.py). This
-- reads headings, quotes, lists, emphasis, inline code and links with a few Lua patterns per
-- visible line, and code fences from a per-line state kept as the buffer changes (a chat only
-- grows at its end, so little is read again). A closed fence whose language has a treesitter
-- parser gets that language's highlighting, parsed once; the fence still streaming stays plain.
-- The buffer keeps filetype=markdown, so FileType plugins (render-markdown.nvim, markview.nvim)
-- still run; a buffer someone started treesitter on is left to treesitter.
local api = vim.api
local code_blocks = require('hybrid.chat.code_blocks')
local layout = require('hybrid.chat.layout')
require('hybrid.highlights')

local M = {}

local ns = api.nvim_create_namespace('hybrid_chat_highlight')

-- Past this many bytes a line is read no further (as 'synmaxcol' does).
local MAX_COL = 3000

-- Per buffer: the fence states of the rows above `valid` (see scan), and `blocks`, closed
-- fences' code highlighting by opening row (code_blocks.lua).
local bufs = {}

--- A fence line (up to 3 spaces, then ``` or ~~~ ...): its marker and info string.
local function fence_of(line)
  local indent, marker, info = line:match('^( *)(```+)(.*)$')
  if not marker then indent, marker, info = line:match('^( *)(~~~+)(.*)$') end
  if marker and #indent <= 3 then return marker, info end
end

-- A chat's turns start at their headers, whatever an answer before them left open.
local function is_turn_header(line)
  return line:sub(1, 3) == '## ' and (line == layout.PROMPT or layout.is_answer_header(line))
end

local function closes(open, line)
  local marker, info = fence_of(line)
  return marker ~= nil and marker:sub(1, 1) == open.marker:sub(1, 1) and #marker >= #open.marker
    and info:match('^%s*$') ~= nil
end

--- Bring the fence states of buffer state b up to row `upto` (exclusive). `start[row]` is the
--- fence open where the row starts; `after[row]` where it ends (so a scan can resume anywhere).
local function scan(buf, b, upto)
  if b.valid >= upto then return end
  local from = b.valid
  local lines = api.nvim_buf_get_lines(buf, from, upto, false)
  local open = from > 0 and b.after[from - 1] or false
  if open and open.last and open.last >= from then open.last = nil end -- its closing line changed
  for i, line in ipairs(lines) do
    local row = from + i - 1
    if open and is_turn_header(line) then open = false end -- an answer cut off inside a fence
    b.start[row] = open
    if open then
      if closes(open, line) then
        open.last = row
        open = false
      end
    else
      local marker, info = fence_of(line)
      if marker then open = { first = row, marker = marker, lang = vim.trim(info):match('^[%w_+#.-]*') } end
    end
    b.after[row] = open
  end
  b.valid = upto
end

-- Inline markdown of one line outside code: { start col, end col, group } spans, 0-based.
local function inline_spans(line)
  local spans = {}
  local function add(s, e, group) table.insert(spans, { s - 1, e, group }) end
  if #line > MAX_COL then line = line:sub(1, MAX_COL) end
  if line:match('^#+%s') or line:match('^#+$') then
    add(1, #line, 'HybridChatHeading')
    return spans
  end
  if line:match('^>') then add(1, #line, 'HybridChatQuote') end
  local list_end = line:match('^%s*[-*+]%s()') or line:match('^%s*%d+[.)]%s()')
  if list_end then add(1, list_end - 2, 'HybridChatList') end
  -- Inline code first; emphasis inside it is not emphasis.
  local masked = line:gsub('(`+)(.-)%1', function(ticks, body)
    return ticks .. body:gsub('.', ' ') .. ticks
  end)
  local at = 1
  while true do
    local s, e = line:find('(`+)(.-)%1', at)
    if not s then break end
    add(s, e, 'HybridChatCode')
    at = e + 1
  end
  for s, e in masked:gmatch('()%*%*[^%s*].-%*%*()') do add(s, e - 1, 'HybridChatStrong') end
  for s, e in masked:gmatch('()__[^%s_].-__()') do add(s, e - 1, 'HybridChatStrong') end
  -- *a* and _a_: not **, and _ not inside a word (snake_case is not emphasis).
  for s, e in masked:gmatch('%f[*]()%*[^%s*][^*]-%*()%f[^*]') do add(s, e - 1, 'HybridChatItalic') end
  for s, e in masked:gmatch('%f[%w_]()_[^%s_][^_]-_()%f[^%w_]') do add(s, e - 1, 'HybridChatItalic') end
  for s, m, e in masked:gmatch('()%[[^%]]-%]()%([^)%s]-%)()') do
    add(s, m - 1, 'HybridChatLinkText')
    add(m, e - 1, 'HybridChatLinkUrl')
  end
  return spans
end

-- Lines drawn again and again as the window follows a stream: their spans by text.
local seen, seen_count = {}, 0

local function cached_inline_spans(line)
  local spans = seen[line]
  if not spans then
    if seen_count >= 4000 then seen, seen_count = {}, 0 end
    spans = inline_spans(line)
    seen[line], seen_count = spans, seen_count + 1
  end
  return spans
end

local function mark(buf, row, s, e, group)
  pcall(api.nvim_buf_set_extmark, buf, ns, row, s, { end_col = e, hl_group = group, ephemeral = true })
end

local function draw_line(buf, b, row)
  local open = b.start[row]
  local line = api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
  if not line or line == '' then return end
  local last = math.min(#line, MAX_COL)
  if open == nil then return end
  if not open then
    if fence_of(line) then
      mark(buf, row, 0, last, 'HybridChatFence')
      return
    end
    for _, span in ipairs(cached_inline_spans(line)) do mark(buf, row, span[1], math.min(span[2], last), span[3]) end
    return
  end
  if open.last == row then
    mark(buf, row, 0, last, 'HybridChatFence')
    return
  end
  mark(buf, row, 0, last, 'HybridChatCodeBlock')
  local spans = open.last and code_blocks.spans(buf, b, open)
  for _, span in ipairs(spans and spans[row] or {}) do mark(buf, row, span[1], math.min(span[2], last), span[3]) end
end

local function on_win(_, _, buf, _, botrow)
  local b = bufs[buf]
  if not b then return false end
  if vim.treesitter.highlighter.active[buf] then return false end -- someone chose treesitter here
  scan(buf, b, math.min(botrow + 1, api.nvim_buf_line_count(buf)))
end

local function on_line(_, _, buf, row)
  local b = bufs[buf]
  if b and b.valid > row then draw_line(buf, b, row) end
end

local provider_set = false

local function fresh() return { start = {}, after = {}, valid = 0, blocks = {}, waiting = {}, changed_at = 0 } end

--- Highlight chat buffer `buf` (filetype markdown) this way instead of with the regex syntax.
function M.attach(buf)
  if bufs[buf] or vim.treesitter.highlighter.active[buf] then return end
  if not provider_set then
    api.nvim_set_decoration_provider(ns, { on_win = on_win, on_line = on_line })
    provider_set = true
  end
  bufs[buf] = fresh()
  vim.bo[buf].syntax = 'OFF'
  api.nvim_buf_attach(buf, false, {
    on_lines = function(_, _, _, first)
      local b = bufs[buf]
      if not b then return true end
      b.changed_at = vim.uv.now()
      if first < b.valid then
        b.valid = first
        code_blocks.forget(b, first)
      end
    end,
    on_reload = function() if bufs[buf] then bufs[buf] = fresh() end end,
    on_detach = function() bufs[buf] = nil end,
  })
end

return M
