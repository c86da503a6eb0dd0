-- :HybridStats: spend, tokens and speed per backend and model, and what going hybrid saved.
local api = vim.api
local notify = require('hybrid.notify')

local M = {}

local money = require('hybrid.state').money

local function count(n)
  n = n or 0
  if n >= 1e6 then return ('%.1fM'):format(n / 1e6) end
  if n >= 1e4 then return ('%.0fk'):format(n / 1e3) end
  if n >= 1e3 then return ('%.1fk'):format(n / 1e3) end
  return tostring(n)
end

-- A markdown table with its columns padded to line up.
local function table_lines(header, rows)
  local widths = {}
  for _, row in ipairs(vim.list_extend({ header }, rows)) do
    for i, cell in ipairs(row) do widths[i] = math.max(widths[i] or 3, vim.fn.strdisplaywidth(cell)) end
  end
  local function line(row)
    local cells = {}
    for i, cell in ipairs(row) do cells[i] = cell .. (' '):rep(widths[i] - vim.fn.strdisplaywidth(cell)) end
    return '| ' .. table.concat(cells, ' | ') .. ' |'
  end
  local out = { line(header) }
  local rule = {}
  for i, w in ipairs(widths) do rule[i] = ('-'):rep(w) end
  table.insert(out, '|-' .. table.concat(rule, '-|-') .. '-|')
  for _, row in ipairs(rows) do table.insert(out, line(row)) end
  return out
end

local HEADER = { 'backend', 'model', 'side', 'requests', 'tokens in', 'tokens out', 'cost', 'median TTFT', 'tokens/s' }

local function period_lines(title, p, cloud)
  local out = { '## ' .. title, '' }
  if not p or (p.requests or 0) == 0 then
    table.insert(out, 'No requests.')
    table.insert(out, '')
    return out
  end
  local rows = {}
  for _, r in ipairs(p.rows or {}) do
    local cost = r.kind == 'local' and '$0.00' or money(r.cost_usd)
    if (r.unpriced or 0) > 0 then cost = cost .. ' +?' end
    if (r.estimated or 0) > 0 then cost = '~' .. cost end
    table.insert(rows, {
      r.backend, r.model, r.kind, tostring(r.requests) .. ((r.failed or 0) > 0 and (' (' .. r.failed .. ' failed)') or ''),
      count(r.tokens_in) .. ((r.cached_tokens or 0) > 0 and (' (' .. count(r.cached_tokens) .. ' cached)') or ''),
      count(r.tokens_out), cost,
      r.ttft_ms_median and ('%d ms'):format(r.ttft_ms_median) or '-',
      r.tokens_per_s_median and ('%.0f'):format(r.tokens_per_s_median) or '-',
    })
  end
  vim.list_extend(out, table_lines(HEADER, rows))
  table.insert(out, '')
  table.insert(out, ('Spent %s on %d requests.'):format(money(p.cost_usd), p.requests))
  if p.saved_pct then
    table.insert(out, ('Saved %s (%.0f%%): what the %d local answers would have cost on %s.'):format(
      money(p.saved_usd), p.saved_pct, p.local_requests or 0, cloud or 'the cloud backend'))
  elseif (p.local_requests or 0) > 0 then
    table.insert(out, ('%d local answers; no cloud price to compare them with.'):format(p.local_requests))
  end
  table.insert(out, '')
  return out
end

local function budget_line(b)
  local function part(label, spent, limit)
    local s = ('%s %s'):format(label, money(spent))
    if limit then s = s .. (' of %s (%.0f%%)'):format(money(limit), limit > 0 and 100 * spent / limit or 100) end
    return s
  end
  return part('Spent today', b.today_usd or 0, b.daily_usd) .. '; ' .. part('this month', b.month_usd or 0, b.monthly_usd) .. '.'
end

--- The lines :HybridStats shows for a stats() table.
function M.render(s)
  local periods = s.periods or {}
  local lines = { '# hybrid.nvim usage', '', budget_line(s.budget or {}), '' }
  vim.list_extend(lines, period_lines('Today', periods.today, s.cloud))
  vim.list_extend(lines, period_lines('This month', periods.month, s.cloud))
  vim.list_extend(lines, period_lines('All time', periods.all, s.cloud))
  vim.list_extend(lines, {
    '~ some tokens were estimated (the server sent no usage); +? a cloud model with no known price.',
    ('Prices: backend.NAME.pricing in setup.yaml, else the built-in table (%s). Local answers cost $0.'):format(
      s.prices_date or '?'),
    'Ledger: ' .. (s.ledger or 'none (no data_dir)'),
  })
  return lines
end

local function show(lines)
  local buf = vim.fn.bufnr('hybrid://stats')
  if buf == -1 then
    buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(buf, 'hybrid://stats')
    vim.bo[buf].filetype = 'markdown'
    vim.bo[buf].bufhidden = 'wipe'
    vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'hybrid: close the stats' })
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    vim.cmd('botright split')
    api.nvim_win_set_buf(0, buf)
  else
    api.nvim_set_current_win(win)
  end
end

function M.open()
  require('hybrid.host').request('hybrid_stats_reply', function(result, err)
    if err then return notify.error(err) end
    show(M.render(result))
  end)
end

return M
