-- Horizontal bar charts in text: a row has a label, a bar of one or more parts, and a note.
local M = {}

M.WIDTH = 40 -- cells of the longest bar

--- rows: { { label = 'Sat 11-08', parts = { { value, char, hl_group }, ... }, note = '12k' }, ... }
--- Bars are scaled to the largest row total. Returns the lines and their highlights as
--- { row (0-based), start byte, end byte, group }.
function M.render(rows, width)
  width = width or M.WIDTH
  local most = 0
  for _, row in ipairs(rows) do
    local total = 0
    for _, part in ipairs(row.parts) do total = total + part[1] end
    most = math.max(most, total)
  end
  local lines, marks = {}, {}
  for i, row in ipairs(rows) do
    local line, used = row.label .. ' │', 0
    for _, part in ipairs(row.parts) do
      local value, char, group = part[1], part[2], part[3]
      local cells = most > 0 and math.floor(value / most * width + 0.5) or 0
      if value > 0 and cells == 0 then cells = 1 end -- a little is not nothing
      if cells > 0 then
        table.insert(marks, { i - 1, #line, #line + #char * cells, group })
        line = line .. char:rep(cells)
        used = used + cells
      end
    end
    local note = row.note or ''
    lines[i] = note == '' and line or (line .. (' '):rep(math.max(width - used, 0) + 1) .. note)
  end
  return lines, marks
end

return M
