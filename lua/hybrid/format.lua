-- How numbers and the host's state read for people: money, counts, the statusline.
local M = {}

--- Dollars for people: "$0.12", "<$0.01" for a fraction of a cent; with `exact` (a limit the
--- user set), the fraction as set: "$0.001".
function M.money(x, exact)
  x = x or 0
  if x > 0 and x < 0.01 then return exact and ('$%g'):format(x) or '<$0.01' end
  return ('$%.2f'):format(x)
end

--- "1 request", "2 requests": a count with its noun (`many` defaults to `one` .. 's').
function M.plural(n, one, many)
  return ('%d %s'):format(n, n == 1 and one or (many or one .. 's'))
end

--- The statusline text for the host's state: "auto:ollama qwen2.5-coder:7b $0.12/$1.00", with
--- " …" while the host answers (a chat or an edit).
function M.statusline(s)
  local where = s.mode == 'auto' and ('auto:' .. (s.backend or '?')) or (s.backend or '?')
  local spend = s.spend or {}
  local cost = M.money(spend.today_usd or 0)
  if spend.daily_usd then cost = cost .. '/' .. M.money(spend.daily_usd, true) end
  local line = ('%s %s %s'):format(where, s.model or '?', cost)
  return s.busy and (line .. ' …') or line
end

return M
