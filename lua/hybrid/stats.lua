-- :HybridStats: spend, tokens and speed per backend and model, what going hybrid saved, a chart
-- of the last 14 days, and the models Ollama holds in memory.
local api = vim.api
local notify = require('hybrid.notify')
require('hybrid.highlights')

local ns = api.nvim_create_namespace('hybrid_stats')

local M = {}

local money = require('hybrid.format').money
local plural = require('hybrid.format').plural

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
      r.backend, r.model, r.kind, tostring(r.requests) .. ((r.failed or 0) > 0 and (' (' .. r.failed .. ' unfinished)') or ''),
      count(r.tokens_in) .. ((r.cached_tokens or 0) > 0 and (' (' .. count(r.cached_tokens) .. ' cached)') or ''),
      count(r.tokens_out), cost,
      r.ttft_ms_median and ('%d ms'):format(r.ttft_ms_median) or '-',
      r.tokens_per_s_median and ('%.0f'):format(r.tokens_per_s_median) or '-',
    })
  end
  vim.list_extend(out, table_lines(HEADER, rows))
  table.insert(out, '')
  table.insert(out, ('Spent %s on %s.'):format(money(p.cost_usd), plural(p.requests, 'request')))
  local answers = p.local_answers or 0 -- failed local requests saved nothing
  if p.saved_pct and answers > 0 then
    table.insert(out, ('Saved %s (%.0f%%): what the %s would have cost on %s.'):format(
      money(p.saved_usd), p.saved_pct, plural(answers, 'local answer'), cloud or 'the cloud backend'))
  elseif answers > 0 then
    table.insert(out, ('%s; no cloud price to compare with.'):format(plural(answers, 'local answer')))
  end
  table.insert(out, '')
  return out
end

-- Each cloud model with no known price, named once (its cost is not in the totals).
local function unpriced_lines(periods)
  local out, seen = {}, {}
  for _, p in ipairs(periods) do
    for _, r in ipairs(p and p.rows or {}) do
      local key = r.backend .. '\0' .. r.model
      if (r.unpriced or 0) > 0 and not seen[key] then
        seen[key] = true
        table.insert(out, ('No price known for %s on %s, so its cost is not counted: add it under '
          .. 'backend.%s.pricing (USD per million tokens).'):format(r.model, r.backend, r.backend))
      end
    end
  end
  if #out > 0 then table.insert(out, '') end
  return out
end

local function budget_line(b)
  local function part(label, spent, limit)
    local s = ('%s %s'):format(label, money(spent))
    if limit then s = s .. (' of %s (%.0f%%)'):format(money(limit, true), limit > 0 and 100 * spent / limit or 100) end
    return s
  end
  return part('Spent today', b.today_usd or 0, b.daily_usd) .. '; ' .. part('this month', b.month_usd or 0, b.monthly_usd) .. '.'
end

local function day_label(day)
  local y, m, d = day:match('^(%d+)-(%d+)-(%d+)$')
  if not y then return day end
  return os.date('%a', os.time({ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 })) .. ' ' .. m .. '-' .. d
end

-- Append a chart under `title` to lines/marks (marks shifted to where the chart lands).
local function add_chart(lines, marks, title, rows)
  vim.list_extend(lines, { title, '' })
  local chart, chart_marks = require('hybrid.chart').render(rows)
  for _, mark in ipairs(chart_marks) do
    mark[1] = mark[1] + #lines
    table.insert(marks, mark)
  end
  vim.list_extend(lines, chart)
  table.insert(lines, '')
end

-- Tokens a day, local and cloud side by side in one bar, then the cloud spend a day.
local function days_lines(days, lines, marks)
  if not days or #days == 0 then return end
  vim.list_extend(lines, { ('## Last %d days'):format(#days), '' })
  local any = false
  local tokens, spend = {}, {}
  for _, d in ipairs(days) do
    local label = day_label(d.day)
    local total = d.local_tokens + d.cloud_tokens
    any = any or total > 0 or d.local_requests + d.cloud_requests > 0
    table.insert(tokens, { label = label, note = total > 0 and count(total) or '',
      parts = { { d.local_tokens, '█', 'HybridChartLocal' }, { d.cloud_tokens, '▒', 'HybridChartCloud' } } })
    table.insert(spend, { label = label, note = d.cloud_usd > 0 and money(d.cloud_usd) or '',
      parts = { { d.cloud_usd, '▒', 'HybridChartCloud' } } })
  end
  if not any then
    vim.list_extend(lines, { 'No requests in these days.', '' })
    return
  end
  add_chart(lines, marks, 'Tokens a day (█ local, ▒ cloud):', tokens)
  add_chart(lines, marks, 'Cloud spend a day (local answers cost nothing):', spend)
end

local function size(bytes)
  if not bytes or bytes <= 0 then return nil end
  if bytes >= 1e9 then return ('%.1f GB'):format(bytes / 1e9) end
  return ('%.0f MB'):format(bytes / 1e6)
end

local function until_text(seconds)
  if not seconds then return nil end
  if seconds > 1e7 then return 'kept loaded' end
  if seconds < 60 then return ('unloads in %d s'):format(math.max(seconds, 0)) end
  if seconds < 5400 then return ('unloads in %d min'):format(math.floor(seconds / 60 + 0.5)) end
  return ('unloads in %.0f h'):format(seconds / 3600)
end

local function where_text(gpu_pct)
  if gpu_pct == nil then return nil end
  if gpu_pct == 0 then return 'CPU' end
  if gpu_pct == 100 then return 'GPU' end
  return ('%d%% GPU'):format(gpu_pct)
end

-- What each Ollama holds in memory (/api/ps).
local function loaded_lines(loaded)
  if not loaded or #loaded == 0 then return {} end
  local out = { '## Loaded models', '' }
  for _, b in ipairs(loaded) do
    if b.error then
      table.insert(out, ('- %s: cannot tell: %s'):format(b.backend, b.error))
    elseif not b.models then
      table.insert(out, ('- %s: cannot tell (this Ollama has no /api/ps; 0.1.38 and later list their loaded models)')
        :format(b.backend))
    elseif #b.models == 0 then
      table.insert(out, ('- %s: none (a model loads on its first request, or when the chat opens)'):format(b.backend))
    end
    for _, m in ipairs(b.models or {}) do
      local details = { m.name }
      local function add(text) -- each detail may be missing
        if text then table.insert(details, text) end
      end
      add(size(m.size))
      add(where_text(m.gpu_pct))
      add(until_text(m.expires_in_s))
      table.insert(out, ('- %s: %s'):format(b.backend, table.concat(details, ' · ')))
    end
  end
  table.insert(out, '')
  return out
end

--- The lines :HybridStats shows for a stats() table, and their highlights
--- ({ row, start byte, end byte, group }).
function M.render(s)
  local periods = s.periods or {}
  local lines, marks = { '# hybrid.nvim usage', '', budget_line(s.budget or {}), '' }, {}
  days_lines(s.days, lines, marks)
  vim.list_extend(lines, period_lines('Today', periods.today, s.cloud))
  vim.list_extend(lines, period_lines('This month', periods.month, s.cloud))
  vim.list_extend(lines, period_lines('All time', periods.all, s.cloud))
  vim.list_extend(lines, unpriced_lines({ periods.today, periods.month, periods.all }))
  vim.list_extend(lines, loaded_lines(s.loaded))
  vim.list_extend(lines, {
    '~ some tokens were estimated (the server sent no usage); +? a cloud model with no known price.',
    ('Prices: backend.NAME.pricing in setup.yaml, else the built-in table (%s). Local answers cost $0.'):format(
      s.prices_date or '?'),
    'Ledger: ' .. (s.ledger or 'none (no data_dir)'),
  })
  return lines, marks
end

local function show(lines, marks)
  local buf = vim.fn.bufnr('hybrid://stats')
  if buf == -1 then
    buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(buf, 'hybrid://stats')
    vim.bo[buf].filetype = 'markdown'
    vim.bo[buf].bufhidden = 'wipe'
    vim.keymap.set('n', 'q', function()
      -- The last window cannot close (E444): the stats buffer goes instead.
      if not pcall(vim.cmd.close) then vim.cmd.bwipeout(buf) end
    end, { buffer = buf, nowait = true, desc = 'hybrid: close the stats' })
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  for _, m in ipairs(marks) do
    api.nvim_buf_set_extmark(buf, ns, m[1], m[2], { end_col = m[3], hl_group = m[4] })
  end
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
  require('hybrid.rpc').stats(function(result, err)
    if err then return notify.error(err) end
    show(M.render(result))
  end)
end

return M
