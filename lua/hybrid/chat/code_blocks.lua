-- A closed code fence's own language highlighting in the chat, from that language's treesitter
-- parser when one is installed (Neovim ships c, lua, vim, vimdoc, query and markdown; others
-- come with nvim-treesitter). Parsed once, kept until the block changes. While the chat is
-- changing (an answer streaming in), parsing waits for a pause: a small block takes 0.3-1 ms to
-- parse and query, and a burst closes a block every few flushes.
local api = vim.api

local M = {}

-- Larger blocks stay plain: one parse must not hold the editor.
local MAX_LINES = 2000

local languages = {} -- a fence's info word -> { lang, query }, or false when none is installed

local function language(word)
  if languages[word] == nil then
    local filetype = vim.filetype.match({ filename = 'x.' .. word }) or word -- py -> python
    local lang = vim.treesitter.language.get_lang(filetype) or filetype
    local found = false
    -- (0.10's add() errors without a parser, 0.11's returns nil: inspect() settles both.)
    if pcall(vim.treesitter.language.add, lang) and pcall(vim.treesitter.language.inspect, lang) then
      local ok, query = pcall(vim.treesitter.query.get, lang, 'highlights')
      if ok and query then found = { lang = lang, query = query } end
    end
    languages[word] = found
  end
  return languages[word]
end

-- Captures that are not colours.
local function is_colour(name) return not (name:match('^_') or name == 'spell' or name == 'nospell' or name == 'conceal') end

local function parse(buf, block, lang)
  local lines = api.nvim_buf_get_lines(buf, block.first + 1, block.last, false)
  local text = table.concat(lines, '\n')
  local tree = vim.treesitter.get_string_parser(text, lang.lang):parse()[1]
  local spans = {}
  for id, node in lang.query:iter_captures(tree:root(), text) do
    local name = lang.query.captures[id]
    if is_colour(name) then
      local group = '@' .. name .. '.' .. lang.lang
      local sr, sc, er, ec = node:range()
      for r = sr, math.min(er, #lines - 1) do
        local row = block.first + 1 + r
        spans[row] = spans[row] or {}
        table.insert(spans[row], { r == sr and sc or 0, r == er and ec or #lines[r + 1], group })
      end
    end
  end
  return spans
end

-- Parse now only when the buffer has been still this long (ms); else after it.
local QUIET = 150

local function parse_into(buf, b, block)
  local found = false
  local lang = block.lang ~= '' and block.last - block.first <= MAX_LINES and language(block.lang)
  if lang then
    local ok, spans = pcall(parse, buf, block, lang)
    found = ok and spans
  end
  b.blocks[block.first] = { last = block.last, spans = found }
end

-- Blocks drawn plain while the buffer changed: once it is quiet, drawn again, which parses those
-- still on screen (the ones scrolled away wait until they are drawn).
local function redraw_waiting(buf, b)
  b.timer = nil
  if not api.nvim_buf_is_valid(buf) then return end
  local quiet_for = vim.uv.now() - b.changed_at
  if quiet_for < QUIET then
    b.timer = vim.defer_fn(function() redraw_waiting(buf, b) end, QUIET - quiet_for)
    return
  end
  for first, block in pairs(b.waiting) do
    b.waiting[first] = nil
    if block.last and not b.blocks[first] and b.valid > block.last then
      api.nvim__redraw({ buf = buf, range = { block.first, block.last + 1 } })
    end
  end
end

--- Rows -> { start col, end col, group } of closed fence `block` ({ first, last, lang }) of
--- buffer `buf`; false when its language has no parser or it waits for a pause (b.changed_at,
--- the buffer's last change by vim.uv.now()). `b.blocks` caches them.
function M.spans(buf, b, block)
  local cached = b.blocks[block.first]
  if cached and cached.last == block.last then return cached.spans end
  if vim.uv.now() - b.changed_at >= QUIET then
    parse_into(buf, b, block)
    return b.blocks[block.first].spans
  end
  b.waiting[block.first] = block
  if not b.timer then b.timer = vim.defer_fn(function() redraw_waiting(buf, b) end, QUIET) end
  return false
end

--- The buffer changed from row `first` on: blocks that reach it are parsed again when drawn.
function M.forget(b, first)
  for row, cached in pairs(b.blocks) do
    if row >= first or cached.last >= first then b.blocks[row] = nil end
  end
end

return M
