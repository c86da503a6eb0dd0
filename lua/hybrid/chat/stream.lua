-- An answer streaming into its chat's buffer: a header waiting for its author, text appended at
-- an extmark (never rewriting the buffer), a status line while it waits, and how it ended.
-- Every piece comes from layout.lua, which lays out a reopened chat the same way.
local api = vim.api
local layout = require('hybrid.chat.layout')
local window = require('hybrid.chat.window')
require('hybrid.highlights')

local M = {}

local ns = api.nvim_create_namespace('hybrid_chat')

local function mark_pos(c, id)
  local pos = api.nvim_buf_get_extmark_by_id(c.buf, ns, id, {})
  return pos[1], pos[2]
end

--- Start an answer at the end of chat c: its header waits for who answers, its text for the host.
function M.begin(c)
  local last = api.nvim_buf_line_count(c.buf)
  api.nvim_buf_set_lines(c.buf, last, last, false, layout.opening())
  c.header_mark = api.nvim_buf_set_extmark(c.buf, ns, last + 1, 0, {})
  c.answer_mark = api.nvim_buf_set_extmark(c.buf, ns, last + 2, 0, {})
  c.streaming = true
  window.follow(c, true)
end

local function insert_at_answer(c, text)
  local row, col = mark_pos(c, c.answer_mark)
  if not row then return end
  text = text:gsub('\r\n', '\n'):gsub('%z', '')
  local at_end = window.followers(c)
  api.nvim_buf_set_text(c.buf, row, col, row, col, layout.wrap_long(layout.split(text), col))
  window.refollow(c, at_end)
end

-- The status line under the header (a retry, a fallback) goes once the answer starts.
local function clear_status(c)
  if c.status_mark then
    pcall(api.nvim_buf_del_extmark, c.buf, ns, c.status_mark)
    c.status_mark = nil
  end
end

--- Who answers (again after a fallback): the header says it.
function M.header(c, who)
  clear_status(c)
  local row = mark_pos(c, c.header_mark)
  if row then
    api.nvim_buf_set_lines(c.buf, row, row + 1, false, { layout.header(who) })
    -- Replacing the line moves the mark; a fallback's second header must land here too.
    api.nvim_buf_set_extmark(c.buf, ns, row, 0, { id = c.header_mark })
  end
end

--- What the answer waits for (a retry, a fallback), as a status line under its header: shown
--- where the user looks, not as a message (no hit-enter prompt, nothing added to the chat).
function M.status(c, message)
  local row = mark_pos(c, c.header_mark)
  if not row then return end
  c.status_mark = api.nvim_buf_set_extmark(c.buf, ns, row, 0,
    { id = c.status_mark, virt_lines = { { { message, 'HybridStatus' } } } })
end

function M.text(c, text)
  clear_status(c)
  insert_at_answer(c, text)
end

--- The answer ended (status, message): say how, and open the prompt for the next message.
function M.finish(c, status, message)
  clear_status(c)
  local row = mark_pos(c, c.answer_mark)
  local last_line = row and api.nvim_buf_get_lines(c.buf, row, row + 1, false)[1] or ''
  local tail = { '' } -- (continues the answer's last line)
  vim.list_extend(tail, layout.closing(status, message, last_line))
  vim.list_extend(tail, { layout.PROMPT, '' })
  insert_at_answer(c, table.concat(tail, '\n'))
  api.nvim_buf_del_extmark(c.buf, ns, c.header_mark)
  api.nvim_buf_del_extmark(c.buf, ns, c.answer_mark)
  c.header_mark, c.answer_mark = nil, nil
  c.streaming = false
end

return M
