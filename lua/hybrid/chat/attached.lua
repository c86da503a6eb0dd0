-- What a chat's messages carried: the window each was asked from (its origin: what #buffer,
-- #selection, #diagnostics and #diff read), the attachment lines under each message with their
-- content (the preview key shows it), and what a code block of its answer applies to (apply.lua).
local api = vim.api
local notify = require('hybrid.notify')
local layout = require('hybrid.chat.layout')
local window = require('hybrid.chat.window')

local M = {}

local lines_ns = api.nvim_create_namespace('hybrid_attachment_lines') -- a mark per attachment line
local turns_ns = api.nvim_create_namespace('hybrid_turns') -- a mark per message (its PROMPT line)
local targets_ns = api.nvim_create_namespace('hybrid_targets') -- a range asked about, in its buffer

--- Remember `win` (default: the current window) as where chat c's next message comes from,
--- when it shows a file rather than a chat or a special buffer.
function M.remember_origin(c, win)
  win = win or api.nvim_get_current_win()
  if not api.nvim_win_is_valid(win) then return end
  local buf = api.nvim_win_get_buf(win)
  if vim.b[buf].hybrid_chat_id == nil and vim.bo[buf].buftype == '' then c.origin = { buf = buf, win = win } end
end

--- The chat's window was entered: the window the user came from is what the next message is about.
function M.entered(c)
  local prev = vim.fn.win_getid(vim.fn.winnr('#'))
  if prev ~= 0 then M.remember_origin(c, prev) end
end

--- Follow `range` ({ buf, srow, erow, lines }, 0-based rows) as the buffer changes around it.
function M.track(range)
  if not (range and api.nvim_buf_is_valid(range.buf)) then return nil end
  range.start = api.nvim_buf_set_extmark(range.buf, targets_ns, range.srow, 0, { right_gravity = false })
  range.stop = api.nvim_buf_set_extmark(range.buf, targets_ns, range.erow, 0, {})
  return range
end

--- The range a #selection among `items` (attach.lua's) was taken from, if one is.
function M.selection(items)
  for _, item in ipairs(items or {}) do
    if item.kind == 'selection' and item.buf and item.first and not item.error then
      local lines = vim.split(item.text, '\n', { plain = true })
      return { buf = item.buf, srow = item.first - 1, erow = item.first + #lines - 2, lines = lines }
    end
  end
end

--- Where a tracked range is now: srow, erow (nil when its lines were deleted).
function M.where(range)
  if not range.start then return range.srow, range.erow end
  local s = api.nvim_buf_get_extmark_by_id(range.buf, targets_ns, range.start, {})
  local e = api.nvim_buf_get_extmark_by_id(range.buf, targets_ns, range.stop, {})
  return s[1], e[1]
end

--- A message of `text` was sent from the PROMPT at `row` (1-based). info: { origin, range }
--- (the range it was asked about, if any); its attachments (`attaching`) come with the host's event.
function M.begin(c, row, text, info, attaching)
  c.turns = c.turns or {}
  info.items = {}
  c.turns[api.nvim_buf_set_extmark(c.buf, turns_ns, row - 1, 0, {})] = info
  c.live_turn, c.attach_after = info, nil
  if attaching then -- their lines go below the message's last line, as layout.turn puts them
    c.attach_after = api.nvim_buf_set_extmark(c.buf, turns_ns, row - 1 + #layout.message(text), 0, {})
  end
end

local function mark(c, row, item)
  c.attached = c.attached or {}
  c.attached[api.nvim_buf_set_extmark(c.buf, lines_ns, row, 0, {})] = item
end

--- The host read the message's attachments: one line for each under it.
function M.show(c, items)
  local info, anchor = c.live_turn, c.attach_after
  if not (info and anchor) then return end
  local row = api.nvim_buf_get_extmark_by_id(c.buf, turns_ns, anchor, {})[1]
  c.attach_after = nil
  api.nvim_buf_del_extmark(c.buf, turns_ns, anchor)
  if not row then return end
  local at_end = window.followers(c)
  api.nvim_buf_set_lines(c.buf, row + 1, row + 1, false, vim.tbl_map(layout.attachment, items))
  for i, item in ipairs(items) do mark(c, row + i, item) end
  window.refollow(c, at_end)
  vim.list_extend(info.items, items)
end

--- A reopened chat: its messages and attachment lines, where layout.saved put them.
function M.restore(c, places)
  c.turns, c.attached = {}, {}
  api.nvim_buf_clear_namespace(c.buf, lines_ns, 0, -1)
  api.nvim_buf_clear_namespace(c.buf, turns_ns, 0, -1)
  for _, place in ipairs(places) do
    c.turns[api.nvim_buf_set_extmark(c.buf, turns_ns, place.row, 0, {})] = { items = place.turn.attachments or {} }
    for _, a in ipairs(place.attached) do mark(c, a.row, a.item) end
  end
end

--- What the message above `row` (0-based) was sent with: { items, origin?, range? } or nil.
function M.turn_at(c, row)
  local marks = api.nvim_buf_get_extmarks(c.buf, turns_ns, 0, { row, 0 }, {})
  for i = #marks, 1, -1 do
    local info = (c.turns or {})[marks[i][1]]
    if info then return info end
  end
end

local function close_with(buf, keys)
  for _, lhs in ipairs(keys) do
    vim.keymap.set('n', lhs, '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'hybrid: close the preview' })
  end
end

--- The preview key: the content of the attachment on the cursor line, as it was sent, in a float.
function M.preview(c)
  local row = api.nvim_win_get_cursor(0)[1] - 1
  local item
  for _, m in ipairs(api.nvim_buf_get_extmarks(c.buf, lines_ns, { row, 0 }, { row, -1 }, {})) do
    item = item or (c.attached or {})[m[1]]
  end
  if not item then return notify.info('put the cursor on an attachment line (> #…) to preview it') end
  local text = item.text ~= nil and item.text ~= '' and item.text or ('(' .. (item.error or item.note or 'empty') .. ')')
  local lines = vim.split(text, '\n', { plain = true })
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable, vim.bo[buf].bufhidden = false, 'wipe'
  vim.bo[buf].filetype = item.kind == 'diff' and 'diff' or (item.filetype or '')
  local width = 20
  for _, line in ipairs(lines) do width = math.max(width, vim.fn.strdisplaywidth(line)) end
  width = math.min(width, math.floor(vim.o.columns * 0.8))
  local height = math.max(1, math.min(#lines, math.floor((vim.o.lines - 2) * 0.8)))
  api.nvim_open_win(buf, true, { relative = 'editor', width = width, height = height, style = 'minimal',
    border = 'rounded', row = math.floor((vim.o.lines - height) / 2) - 1, col = math.floor((vim.o.columns - width) / 2),
    title = ' ' .. item.name .. ' ', title_pos = 'center' })
  close_with(buf, { 'q', '<Esc>' })
end

return M
