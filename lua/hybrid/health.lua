-- :checkhealth hybrid
local options = require('hybrid.options')
local plural = require('hybrid.format').plural

local M = {}

local function run(cmd, env)
  local ok, proc = pcall(vim.system, cmd, { text = true, env = env })
  if not ok then return nil, tostring(proc) end
  local res = proc:wait(20000)
  if res.code ~= 0 then return nil, vim.trim((res.stderr or '') .. (res.stdout or '')) end
  return res.stdout
end

local function check_python(h, python)
  if vim.fn.executable(python) ~= 1 then
    h.error(('no Python interpreter at %s'):format(python), { "run 'make install' in " .. options.root, 'or set setup{ python = ... }' })
    return false
  end
  local out, err = run({ python, '-c', 'import sys, pynvim, httpx, yaml, msgpack; from importlib.metadata import version; '
    .. 'print(sys.version.split()[0], *(n + " " + version(n) for n in ("pynvim", "httpx", "PyYAML", "msgpack")), sep=", ")' })
  if not out then
    h.error(('%s lacks a package: %s'):format(python, (err or ''):match('[^\n]*$')), { "run 'make install' in " .. options.root })
    return false
  end
  local version, packages = vim.trim(out):match('^([^,]+), (.*)$')
  h.ok(('Python %s at %s with %s'):format(version, python, packages))
  return true
end

-- Answers stream through aiohttp's parser when httpx-aiohttp is installed; httpx's own costs the
-- host about three times the CPU in a fast stream.
local function check_fast_http(h, python)
  local out = run({ python, '-c', 'from importlib.metadata import version; print(version("httpx-aiohttp"), version("aiohttp"))' })
  if out then
    local fast, aiohttp = vim.trim(out):match('^(%S+) (%S+)$')
    h.ok(('answers stream through aiohttp %s (httpx-aiohttp %s)'):format(aiohttp, fast))
  else
    h.warn("httpx-aiohttp is not installed: answers stream through httpx's own transport, which costs the host "
      .. 'about three times the CPU in a fast stream', { "run 'make install' in " .. options.root })
  end
end

-- The pid of the server the running host started for backend `name`, if any.
local function started_pid(name)
  for _, b in ipairs((require('hybrid.state').current or {}).backends or {}) do
    if b.name == name then return b.server_pid end
  end
end

-- A backend whose server the plugin starts (command: or autostart:).
local function report_server(h, b)
  local s = b.server
  if not s.found then
    return h.error(('%s: cannot start its server: %s is not installed or not on PATH (backend.%s.%s)'):format(
      b.name, s.program, b.name, s.key), { 'install it, or give its full path in backend.' .. b.name .. '.command' })
  end
  local log = s.log and ('; output in ' .. s.log) or ''
  local pid = started_pid(b.name)
  if pid and not b.reachable then
    h.warn(('%s: the server the plugin started (pid %d) does not answer'):format(b.name, pid), { 'see ' .. (s.log or 'its log') })
  elseif pid then
    h.ok(('%s: the plugin started its server (pid %d) and stops it when Neovim exits%s'):format(b.name, pid, log))
  elseif b.reachable then
    h.ok(('%s: a server already answers, so `%s` is not started'):format(b.name, s.command))
  else
    h.ok(('%s: not running; the plugin starts `%s` on first use%s'):format(b.name, s.command, log))
  end
end

local function report_backend(h, b)
  local where = ('%s (%s, %s) at %s'):format(b.name, b.kind, b.type, b.url)
  if b.server then report_server(h, b) end
  if b.local_why and b.local_why ~= 'declared' then
    h.info(('%s is %s, %s (write backend.%s.local: true or false in setup.yaml to say it yourself)'):format(b.name, b.kind, b.local_why, b.name))
  end
  if b.reachable then
    if b.model_listed == false then
      local hint = b.type == 'ollama' and ("run 'ollama pull " .. b.model .. "'") or 'pick one with :HybridModel'
      h.warn(('%s answers, but does not list the model %s'):format(where, b.model), { hint })
    else
      h.ok(where .. ' answers')
    end
  elseif not b.server then -- a server the plugin starts is not expected to answer before first use
    h.warn(b.error or (where .. ' does not answer'))
  end
  if b.loaded then
    h.info(('%s: in memory: %s'):format(b.name, #b.loaded > 0 and table.concat(b.loaded, ', ') or 'no model yet'))
  end
  if b.warm_up then
    local keep = type(b.keep_alive) == 'number' and ('%g s'):format(b.keep_alive) or b.keep_alive
    keep = keep and (keep:sub(1, 1) == '-' and ', and kept loaded' or (', and kept ' .. keep .. ' after a request')) or ''
    h.info(('%s: the model is loaded when the chat opens%s (backend.%s.warm_up)'):format(b.name, keep, b.name))
  end
  for _, model in ipairs(b.unpriced or {}) do
    h.warn(('%s: no price known for %s, so its cost is counted only if the server reports it'):format(b.name, model),
      { ('add it under backend.%s.pricing in setup.yaml (USD per million tokens)'):format(b.name) })
  end
  if b.key then
    h.ok(b.name .. ': API key ' .. b.key)
  elseif b.key_error then
    h.error(b.key_error)
  elseif b.kind == 'cloud' then
    h.error(b.name .. ': no API key', { 'set ' .. b.key_hint .. ', or add it to keys.yaml beside setup.yaml' })
  end
end

local function report_routing(h, r)
  h.start('hybrid.nvim: routing')
  h.info(r.auto and 'defaults.backend is auto: each request is routed' or 'a fixed backend; :HybridBackend auto routes')
  if r['local'] then
    h.ok(('local side: %s; cloud side: %s'):format(r['local'], r.cloud or 'none'))
  else
    h.warn('no local backend: sensitive requests (secrets, .env, keys) are refused', { 'add one with type: ollama or local: true' })
  end
  if not r.cloud then h.info('no cloud backend: auto mode answers everything locally') end
  h.ok(('rules: %d of yours%s; router model: %s; fallback cooldown %gs'):format(r.user_rules,
    r.builtin_rules and ', then the built-in task rules' or ' only', r.router_model
      and ('%s (%gs budget)'):format(r.router_model, r.router_timeout) or 'none', r.cooldown))
  h.ok(('privacy: built-in files and secret patterns, plus %d path(s) and %d pattern(s) of yours; '
    .. 'never sent to a cloud backend'):format(r.private_paths, r.private_patterns))
end

-- #diff and #diff:repo run git (|hybrid-context-attachments|); nothing else needs it.
local function report_git(h)
  local out = vim.fn.executable('git') == 1 and run({ 'git', '--version' }) or nil
  if out then
    h.ok(vim.trim(out) .. ': #diff and #diff:repo attachments work')
  else
    h.warn('git not found: #diff and #diff:repo attachments say so and attach nothing',
      { 'install git, or put it on PATH' })
  end
end

function M.check()
  local h = vim.health
  h.start('hybrid.nvim')
  if vim.fn.has('nvim-0.10') == 1 then
    h.ok('Neovim ' .. tostring(vim.version()))
  else
    h.error('Neovim 0.10 or newer is needed')
  end
  local python = options.python()
  if not check_python(h, python) then return end
  check_fast_http(h, python)
  h.info(require('hybrid.host').running() and 'the Python host is running' or 'the Python host starts on first use')
  local out, err = run({ python, '-m', 'hybrid_core.health', options.config_path(), options.data_dir() },
    { PYTHONPATH = options.root .. '/python' })
  if not out then return h.error('the config check failed: ' .. (err or '')) end
  local report = vim.json.decode(out, { luanil = { object = true, array = true } })
  h.start('hybrid.nvim: config ' .. report.config)
  if report.config_error then
    return h.error(report.config_error)
  end
  if report.builtin then
    local b = report.backends[1]
    h.ok(('no file, so the built-in default is used: %s (%s) at %s with %s'):format(b.name, b.type, b.url, b.model),
      { 'to add a cloud model or change the default, write this file (:help hybrid-config)' })
  else
    h.ok('valid')
  end
  if report.keys_file_open then h.warn('keys.yaml can be read by other users', { 'chmod 600 keys.yaml' }) end
  report_routing(h, report.routing)
  report_git(h)
  h.start('hybrid.nvim: backends')
  for _, b in ipairs(report.backends) do report_backend(h, b) end
  local data = report.data or {}
  h.start('hybrid.nvim: data')
  if data.writable then
    h.ok('data_dir is writable: ' .. data.path)
  else
    h.error(data.error or ('data_dir is not writable: ' .. tostring(data.path)), { 'set setup{ data_dir = ... }' })
  end
  if data.ledger_error then
    h.error(data.ledger_error, { 'move the file away; a new ledger starts with the next request' })
  elseif data.ledger_rows then
    h.ok(('usage ledger: %s, %s (:HybridStats)'):format(data.ledger, plural(data.ledger_rows, 'request')))
  else
    h.info('the usage ledger ' .. tostring(data.ledger) .. ' is created with the first request')
  end
  h.ok(('%s (:HybridChats); log: %s'):format(plural(data.chats or 0, 'saved chat'), tostring(data.log)))
  h.start('hybrid.nvim: cost')
  local budget = report.routing.budget or {}
  if budget.daily_usd or budget.monthly_usd then
    h.ok(('budget: %s a day, %s a month; past it: %s'):format(budget.daily_usd and ('$' .. budget.daily_usd) or 'no limit',
      budget.monthly_usd and ('$' .. budget.monthly_usd) or 'no limit', budget.on_limit or 'ask'))
  else
    h.info('no budget set (budget.daily_usd, budget.monthly_usd)')
  end
end

return M
