-- What the host last told us, so status() and pickers need no round trip. The host is the one
-- side that knows what streams (chats and edits alike): `busy` is its flag, never counted here.
local M = {}

M.current = nil -- the host's latest state table
M.line = '' -- statusline text, made when the state changes so statusline() costs nothing
M.choice = nil -- the backend, models and preset the user chose: kept when the host dies, for the next one
local waiting = {}

-- Statuslines are redrawn only for the current window unless asked: every window shows ours.
local function redraw_statuslines()
  if vim.api.nvim__redraw then return pcall(vim.api.nvim__redraw, { statusline = true }) end
  pcall(vim.cmd, 'redrawstatus!')
end

function M.update(state)
  M.current = state
  M.choice = state.choice
  local line = require('hybrid.format').statusline(state)
  if line ~= M.line then
    M.line = line
    redraw_statuslines()
  end
  local fns = waiting
  waiting = {}
  for _, fn in ipairs(fns) do fn(state) end
end

--- Run fn(state) once the host has reported its state (at once if it has).
function M.when_ready(fn)
  if M.current then return fn(M.current) end
  table.insert(waiting, fn)
end

function M.reset()
  M.current = nil
  M.line = ''
  redraw_statuslines()
end

--- Whether the host answers something now (a chat or an edit).
function M.busy() return M.current ~= nil and M.current.busy == true end

-- `inflight` (read by scripts and tests): how many answers this editor still shows streaming.
-- Derived from the chats and the edit when read, not counted.
setmetatable(M, {
  __index = function(_, key)
    if key ~= 'inflight' then return nil end
    local chat, ask = package.loaded['hybrid.chat'], package.loaded['hybrid.ask']
    return (chat and chat.streaming() or 0) + ((ask and ask.is_streaming()) and 1 or 0)
  end,
})

function M.status()
  local s = M.current or {}
  local last = s.last
  return {
    backend = s.backend,
    model = s.model,
    mode = s.mode or 'fixed',
    busy = M.busy(),
    pending_edit = package.loaded['hybrid.ask'] ~= nil and require('hybrid.ask').is_pending(),
    last = last and {
      backend = last.backend,
      model = last.model,
      reason = last.reason,
      ttft_ms = last.ttft_ms,
      tokens_in = last.tokens_in,
      tokens_out = last.tokens_out,
      cost_usd = last.cost_usd,
    } or nil,
  }
end

return M
