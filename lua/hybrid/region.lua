-- The region a command acts on (the visual selection, a range, the cursor line) and its text.
-- Shared by :HybridAsk and applying a code block from the chat (both review through ask.lua).
local api = vim.api

local M = {}

local function char_end(line, col)
  -- '> marks the first byte of the last character; the edit must take all of it.
  if col >= #line then return #line end
  local char = vim.fn.strpart(line, col, 1, true)
  return col + math.max(#char, 1)
end

function M.line_at(buf, row) return api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or '' end

--- Byte columns [start, end) of a block on each of its lines; short lines give empty ranges.
local function block_columns(buf, srow, erow, c1, c2)
  local cols = {}
  for i, line in ipairs(api.nvim_buf_get_lines(buf, srow, erow + 1, false)) do
    local s = math.min(c1, #line)
    cols[i] = { s, math.max(s, char_end(line, c2)) }
  end
  return cols
end

--- The region a command acts on: the visual selection when the range came from one,
--- else whole lines of the range, else the cursor line.
function M.of_command(args)
  local buf = api.nvim_get_current_buf()
  if args.range == 0 then
    local row = api.nvim_win_get_cursor(0)[1] - 1
    return { buf = buf, mode = 'line', srow = row, erow = row }
  end
  local vs, ve = api.nvim_buf_get_mark(buf, '<'), api.nvim_buf_get_mark(buf, '>')
  local vmode = vim.fn.visualmode()
  if args.range == 2 and vs[1] == args.line1 and ve[1] == args.line2 and vmode ~= '' and vmode ~= 'V' then
    local srow, erow = vs[1] - 1, ve[1] - 1
    if vmode == 'v' then
      return { buf = buf, mode = 'char', srow = srow, scol = vs[2], erow = erow, ecol = char_end(M.line_at(buf, erow), ve[2]) }
    end
    local c1, c2 = math.min(vs[2], ve[2]), math.max(vs[2], ve[2])
    return { buf = buf, mode = 'block', srow = srow, erow = erow, cols = block_columns(buf, srow, erow, c1, c2) }
  end
  return { buf = buf, mode = 'line', srow = args.line1 - 1, erow = args.line2 - 1 }
end

--- The text of region `sel`, as lines.
function M.text(sel)
  local buf = sel.buf
  if sel.mode == 'char' then return api.nvim_buf_get_text(buf, sel.srow, sel.scol, sel.erow, sel.ecol, {}) end
  local lines = api.nvim_buf_get_lines(buf, sel.srow, sel.erow + 1, false)
  if sel.mode == 'block' then
    for i, line in ipairs(lines) do
      lines[i] = line:sub(sel.cols[i][1] + 1, sel.cols[i][2])
    end
  end
  return lines
end

return M
