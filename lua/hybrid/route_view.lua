-- How :HybridRoute shows where a request would go and why, and :HybridCorrections what the
-- router learned.
local M = {}

local step_numbers = { privacy = '1 privacy', explicit = '2 explicit choice', fixed = 'fixed backend',
  budget = '3 budget', size = '4 size', rules = '5 your rules', classifier = '6 task classifier',
  router = '6 router model (classifier unsure)', learned = '5 your corrections', default = '7 default',
  attachments = '0 reading the attachments' }

-- One line per attachment, as the chat shows it under a message.
local function attached(d, lines)
  for _, item in ipairs(d.attachments or {}) do
    table.insert(lines, '  attached: ' .. require('hybrid.chat.layout').attachment(item):sub(3))
  end
  return lines
end

--- The text :HybridRoute shows for a routing decision (a route() table).
function M.describe(d)
  if d.refused then
    local why = d.refused:gsub('^not sent: ', '')
    local lines = { 'would not be sent: ' .. why, '  step: ' .. (step_numbers[d.step] or d.step) }
    return table.concat(attached(d, lines), '\n')
  end
  local lines = {
    ('→ %s (%s) · %s · role %s'):format(d.backend, d.side, d.model, d.role),
    ('  why: %s (step %s)'):format(d.reason, step_numbers[d.step] or d.step),
  }
  if d.notice then table.insert(lines, '  note: ' .. d.notice) end
  if d.local_why and d.local_why ~= 'declared' then
    table.insert(lines, ('  %s is %s: %s'):format(d.backend, d.side, d.local_why))
  end
  if d.router_model then
    table.insert(lines, ('  the router model %s is asked first (%s side on a timeout)'):format(d.router_model, d.side))
  end
  if d.fallback then table.insert(lines, ('  if %s fails before answering: %s'):format(d.backend, d.fallback)) end
  attached(d, lines)
  table.insert(lines, '  (dry run: nothing was sent)')
  return table.concat(lines, '\n')
end

--- What :HybridCorrections says about `items` (after dropping them, with `forget`), and whether
--- it is the list (several lines, echoed into the message history) rather than a notice.
function M.corrections(items, forget)
  local n = #items
  if forget then return ('forgot %d correction%s'):format(n, n == 1 and '' or 's'), false end
  if n == 0 then return 'no corrections yet: @cloud, @local or :HybridRetry <backend> teach the router', false end
  local lines = { ('%d correction%s (newest last; :HybridCorrections forget drops them):'):format(n, n == 1 and '' or 's') }
  for _, item in ipairs(items) do
    local text = item.text:gsub('%s+', ' ')
    table.insert(lines, ('  %s ← %s: %s'):format(item.side, item.how, text:sub(1, 60)))
  end
  return table.concat(lines, '\n'), true
end

return M
