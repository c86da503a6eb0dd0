-- What the host last told us, so status() and pickers need no round trip.
local M = {}

M.current = nil -- the host's latest state table
M.inflight = 0 -- answers streaming now
M.line = '' -- statusline text, made when the state changes so statusline() costs nothing
M.choice = nil -- the backend, models and preset the user chose: kept when the host dies, for the next one
local waiting = {}

--- Dollars for people: "$0.12", "<$0.01" for a fraction of a cent; with `exact` (a limit the
--- user set), the fraction as set: "$0.001".
function M.money(x, exact)
  x = x or 0
  if x > 0 and x < 0.01 then return exact and ('$%g'):format(x) or '<$0.01' end
  return ('$%.2f'):format(x)
end
local money = M.money

--- "1 request", "2 requests": a count with its noun (`many` defaults to `one` .. 's').
function M.plural(n, one, many)
  return ('%d %s'):format(n, n == 1 and one or (many or one .. 's'))
end

local function statusline_text(s)
  local where = s.mode == 'auto' and ('auto:' .. (s.backend or '?')) or (s.backend or '?')
  local spend = s.spend or {}
  local cost = money(spend.today_usd or 0)
  if spend.daily_usd then cost = cost .. '/' .. money(spend.daily_usd, true) end
  return ('%s %s %s'):format(where, s.model or '?', cost)
end

-- Statuslines are redrawn only for the current window unless asked: every window shows ours.
local function redraw_statuslines() pcall(vim.cmd, 'redrawstatus!') end

--- One more (delta 1) or one fewer (-1) answer streaming; statusline() marks it with ' …'.
function M.add_inflight(delta)
  M.inflight = math.max(0, M.inflight + delta)
  redraw_statuslines()
end

function M.update(state)
  M.current = state
  M.choice = state.choice
  local line = statusline_text(state)
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
  M.inflight = 0
  M.line = ''
  redraw_statuslines()
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
