-- :HybridAsk: rewrite a selection. The answer streams into a review in the buffer
-- (original marked, proposal as virtual lines); accepting applies it in one change.
local api = vim.api
local notify = require('hybrid.notify')
local options = require('hybrid.options')
local region = require('hybrid.region')
require('hybrid.highlights')

local M = {}

local ns = api.nvim_create_namespace('hybrid_ask')
local pending = nil -- the one edit being streamed or reviewed
local asks_made = 0
local CONTEXT_LINES = 10

-- Tracking: extmarks keep the region's place while the user edits elsewhere. --------

local function track(sel)
  local buf = sel.buf
  local last = region.line_at(buf, sel.erow)
  local scol = sel.mode == 'char' and sel.scol or 0
  local ecol = sel.mode == 'char' and sel.ecol or #last
  sel.start_mark = api.nvim_buf_set_extmark(buf, ns, sel.srow, scol, { right_gravity = false })
  sel.end_mark = api.nvim_buf_set_extmark(buf, ns, sel.erow, ecol, { right_gravity = true })
  local hl = { end_row = sel.erow, end_col = ecol, hl_group = 'HybridDelete', priority = 200 }
  if sel.mode == 'line' then hl.end_row, hl.end_col, hl.hl_eol = sel.erow + 1, 0, true end
  if sel.mode == 'block' then
    sel.hl_marks = {}
    for i, c in ipairs(sel.cols) do
      table.insert(sel.hl_marks, api.nvim_buf_set_extmark(buf, ns, sel.srow + i - 1, c[1],
        { end_row = sel.srow + i - 1, end_col = c[2], hl_group = 'HybridDelete', priority = 200 }))
    end
  else
    sel.hl_marks = { api.nvim_buf_set_extmark(buf, ns, sel.srow, scol, hl) }
  end
end

--- Where the tracked region is now: only the coordinates (the proposal stays in p).
local function current_region(p)
  local s = api.nvim_buf_get_extmark_by_id(p.buf, ns, p.start_mark, {})
  local e = api.nvim_buf_get_extmark_by_id(p.buf, ns, p.end_mark, {})
  if not s[1] or not e[1] or e[1] - s[1] ~= p.erow - p.srow then return nil end
  local now = { buf = p.buf, mode = p.mode, cols = p.cols, srow = s[1], erow = e[1] }
  if p.mode == 'char' then now.scol, now.ecol = s[2], e[2] end
  return now
end

-- Review ----------------------------------------------------------------------------

local function keys()
  local ask = options.values.ask or {}
  return ask.accept or 'ga', ask.reject or 'gr'
end

local function show(p, lines, streaming)
  if not api.nvim_buf_is_valid(p.buf) then return end
  local accept, reject = keys()
  local head = ('hybrid · %s · %s · %s — %s'):format(p.backend or '…', p.model or '…', p.reason or '…',
    streaming and ((p.status or 'writing…') .. ' (<C-c> or :HybridCancel stops)') or (accept .. ' accept, ' .. reject .. ' reject'))
  local virt = { { { head, 'HybridHeader' } } }
  for _, line in ipairs(lines) do
    table.insert(virt, { { line == '' and ' ' or line, 'HybridAdd' } })
  end
  local e = api.nvim_buf_get_extmark_by_id(p.buf, ns, p.end_mark, {})
  if not e[1] then return end
  p.view_mark = api.nvim_buf_set_extmark(p.buf, ns, e[1], 0, { id = p.view_mark, virt_lines = virt })
end

local function clear(p)
  if api.nvim_buf_is_valid(p.buf) then
    api.nvim_buf_clear_namespace(p.buf, ns, 0, -1)
    pcall(vim.keymap.del, 'n', '<C-c>', { buffer = p.buf })
    local accept, reject = keys()
    pcall(vim.keymap.del, 'n', accept, { buffer = p.buf })
    pcall(vim.keymap.del, 'n', reject, { buffer = p.buf })
  end
  if pending == p then pending = nil end
end

local function set_review_keys(p)
  local accept, reject = keys()
  vim.keymap.set('n', accept, M.accept, { buffer = p.buf, nowait = true, desc = 'hybrid: accept the edit' })
  vim.keymap.set('n', reject, M.reject, { buffer = p.buf, nowait = true, desc = 'hybrid: reject the edit' })
end

local function cancel_stream(p) require('hybrid.rpc').cancel_ask(p.id) end

local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

local function show_leftover(lines, why)
  -- Nothing may be lost: the proposal goes to a scratch buffer the user can copy from.
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.cmd('botright split')
  api.nvim_win_set_buf(0, buf)
  notify.error(why .. '; nothing applied — the proposal is in the split below to copy from')
end

local function apply(p)
  local now = current_region(p)
  if not now or not same(region.text(now), p.original) then
    clear(p)
    return show_leftover(p.lines, 'the selected text changed while the answer streamed')
  end
  local buf, lines = p.buf, p.lines
  if p.mode == 'char' then
    api.nvim_buf_set_text(buf, now.srow, now.scol, now.erow, now.ecol, lines)
  elseif p.mode == 'line' then
    api.nvim_buf_set_lines(buf, now.srow, now.erow + 1, false, lines)
  else
    local height = now.erow - now.srow + 1
    if #lines > height then
      clear(p)
      return show_leftover(lines, ('the answer has %d lines for a block of %d'):format(#lines, height))
    end
    local rows = api.nvim_buf_get_lines(buf, now.srow, now.erow + 1, false)
    for i, row in ipairs(rows) do
      local c = p.cols[i]
      rows[i] = row:sub(1, c[1]) .. (lines[i] or '') .. row:sub(c[2] + 1)
    end
    api.nvim_buf_set_lines(buf, now.srow, now.erow + 1, false, rows) -- one change: one undo step
  end
  clear(p)
  require('hybrid.events').edit_applied({ buf = buf, line1 = now.srow + 1, line2 = now.srow + math.max(#lines, 1),
    backend = p.backend, model = p.model })
end

-- Commands --------------------------------------------------------------------------

-- One edit at a time: true (and said) when one is pending.
local function busy()
  if not pending then return false end
  local accept, reject = keys()
  notify.warn(('an edit is pending: %s / :HybridAccept or %s / :HybridReject it first'):format(accept, reject))
  return true
end

local function start(sel, instruction, apply_now)
  if busy() then return end
  local buf = sel.buf
  local original = region.text(sel)
  local before = api.nvim_buf_get_lines(buf, math.max(0, sel.srow - CONTEXT_LINES), sel.srow, false)
  local after = api.nvim_buf_get_lines(buf, sel.erow + 1, sel.erow + 1 + CONTEXT_LINES, false)
  asks_made = asks_made + 1
  local p = vim.tbl_extend('force', sel, { id = tostring(asks_made), original = original, reply = {},
    apply_now = apply_now, streaming = true })
  local payload = {
    instruction = instruction, text = table.concat(original, '\n'), mode = sel.mode,
    filetype = vim.bo[buf].filetype, filename = vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ':~:.'),
    path = api.nvim_buf_get_name(buf),
    before = table.concat(before, '\n'), after = table.concat(after, '\n'),
  }
  -- The instruction's #file:, #buffer, ... go along, read now (the buffer edited is their origin).
  payload = require('hybrid.attach').request_opts(instruction, { buf = buf, win = api.nvim_get_current_win() }, payload)
  if not require('hybrid.rpc').ask(p.id, payload) then return end
  pending = p
  track(p)
  show(p, {}, true)
  vim.keymap.set('n', '<C-c>', function() cancel_stream(p) end,
    { buffer = buf, nowait = true, desc = 'hybrid: cancel the edit' })
end

--- Review `lines` as the replacement of region `sel` (a code block from the chat), with the
--- highlights, keys and one undo of an edit. who: { backend, model, reason } for its header.
--- False when another edit is pending.
function M.review(sel, lines, who)
  if busy() then return false end
  asks_made = asks_made + 1
  local p = vim.tbl_extend('force', sel, who, { id = 'chat-' .. asks_made, original = region.text(sel), reply = {},
    lines = lines, streaming = false })
  pending = p
  track(p)
  show(p, lines, false)
  set_review_keys(p)
  return true
end

function M.command(args)
  local sel = region.of_command(args)
  if args.args ~= '' then return start(sel, args.args, args.bang) end
  vim.ui.input({ prompt = 'hybrid: rewrite how? ' }, function(instruction)
    if instruction and vim.trim(instruction) ~= '' then start(sel, instruction, args.bang) end
  end)
end

function M.accept()
  local p = pending
  if not p then return notify.warn('no edit to accept') end
  if p.streaming then return notify.warn('the edit is still streaming; wait for it or cancel with :HybridCancel') end
  apply(p)
end

function M.reject()
  local p = pending
  if not p then return notify.warn('no edit to reject') end
  if p.streaming then cancel_stream(p) end
  clear(p)
end

function M.is_pending() return pending ~= nil end
function M.is_streaming() return pending ~= nil and pending.streaming end

-- Events from the host (bridge.lua puts the ask id of a stream's events in ev.id) -------

local function ours(id) return pending and pending.id == id end

function M.on_start(ev)
  if not ours(ev.id) then return end
  pending.backend, pending.model, pending.reason = ev.backend, ev.model, ev.reason
  show(pending, {}, true)
end

--- A retry or a fallback: said in the review's header line until the answer starts.
function M.on_progress(ev)
  if not ours(ev.id) then return end
  pending.status = ev.message
  show(pending, vim.split(table.concat(pending.reply), '\n', { plain = true }), true)
end

function M.on_delta(ev)
  if not ours(ev.id) then return end
  pending.status = nil
  table.insert(pending.reply, ev.text)
  show(pending, vim.split(table.concat(pending.reply), '\n', { plain = true }), true)
end

function M.on_end(ev)
  if not ours(ev.id) then return end
  local p = pending
  p.streaming = false
  pcall(vim.keymap.del, 'n', '<C-c>', { buffer = p.buf })
  if ev.status ~= 'complete' then
    clear(p)
    if ev.status == 'cancelled' then return notify.info('edit cancelled; the buffer is unchanged') end
    return notify.error((ev.message or 'the edit failed') .. '; the buffer is unchanged')
  end
  p.lines = ev.lines or {}
  if p.apply_now then return apply(p) end
  show(p, p.lines, false)
  set_review_keys(p)
  -- A proposal taller than the window kept showing "writing…" until <C-l>: the changed virtual
  -- lines of a line drawn before them are not always redrawn. Redraw the buffer's windows now.
  if api.nvim__redraw then pcall(api.nvim__redraw, { buf = p.buf, valid = false, flush = true }) end
end

--- The host died mid-edit: drop the review; the buffer was never touched.
function M.on_host_exit()
  if pending then clear(pending) end
end

return M
