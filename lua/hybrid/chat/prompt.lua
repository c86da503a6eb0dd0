-- The message being written in a chat buffer: where it starts, what it says (a message, or a
-- /preset command), and tidying the prompt area around a send or a retry.
local api = vim.api
local layout = require('hybrid.chat.layout')

local M = {}

--- The row (1-based) of the PROMPT the message is written under (a damaged one repaired
--- first), or nil when there is none after the last answer.
function M.row(buf)
  local row, repaired = layout.find_prompt(api.nvim_buf_get_lines(buf, 0, -1, false))
  if repaired then api.nvim_buf_set_lines(buf, row - 1, row, false, repaired) end
  return row
end

local function trim(s) return (s:gsub('^%s+', ''):gsub('%s+$', '')) end

--- The message under the PROMPT at `row`, trimmed.
function M.text(buf, row)
  return trim(table.concat(api.nvim_buf_get_lines(buf, row, -1, false), '\n'))
end

--- The PROMPT's row, after adding one at the end when there is none.
function M.ensure(buf)
  local row = M.row(buf)
  if row then return row end
  api.nvim_buf_set_lines(buf, -1, -1, false, { '', layout.PROMPT })
  return api.nvim_buf_line_count(buf)
end

--- Under the PROMPT at `row`: exactly the message being sent.
function M.set(buf, row, text) api.nvim_buf_set_lines(buf, row, -1, false, layout.message(text)) end

--- Drop an empty prompt at the end (and the blank line above it): a retry's answer goes there.
function M.drop_empty(buf)
  local row = M.row(buf)
  if row and M.text(buf, row) == '' then
    local above = row > 1 and api.nvim_buf_get_lines(buf, row - 2, row - 1, false)[1] or nil
    api.nvim_buf_set_lines(buf, above == '' and row - 2 or row - 1, -1, false, {})
  end
end

--- `/preset [name]` written as a message picks a preset instead. True when it was one.
function M.command(text)
  local name = text:match('^/preset%s*(%S*)%s*$')
  if not name then return false end
  require('hybrid.picker').choose('preset', name)
  return true
end

return M
