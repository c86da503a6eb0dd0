-- What the host last told us, so status() and pickers need no round trip.
local M = {}

M.current = nil -- the host's latest state table
M.inflight = 0 -- answers streaming now
M.line = '' -- statusline text, made when the state changes so statusline() costs nothing
local waiting = {}

--- Dollars for people: "$0.12", "<$0.01" for a fraction of a cent.
function M.money(x)
  x = x or 0
  if x > 0 and x < 0.01 then return '<$0.01' end
  return ('$%.2f'):format(x)
end
local money = M.money

local function statusline_text(s)
  local where = s.mode == 'auto' and ('auto:' .. (s.backend or '?')) or (s.backend or '?')
  local spend = s.spend or {}
  local cost = money(spend.today_usd or 0)
  if spend.daily_usd then cost = cost .. '/' .. money(spend.daily_usd) end
  return ('%s %s %s'):format(where, s.model or '?', cost)
end

function M.update(state)
  M.current = state
  M.line = statusline_text(state)
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
  M.inflight = 0
  M.line = ''
end

function M.status()
  local s = M.current or {}
  local last = s.last
  return {
    backend = s.backend,
    model = s.model,
    mode = s.mode or 'fixed',
    busy = M.inflight > 0,
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
