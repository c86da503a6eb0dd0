-- hybrid.nvim: one chat for local and cloud models. Public Lua API.
local M = {}

--- Configure the plugin (all options optional; see :help hybrid-setup).
function M.setup(opts)
  require('hybrid.options').set(opts)
end

--- Where requests go now and what the last one did; cheap, no round trip.
function M.status()
  return require('hybrid.state').status()
end

--- A short string for a statusline: "auto:ollama qwen2.5-coder:7b $0.12" (mode or backend,
--- model, spend today, "/limit" with a daily budget, " …" while answering). No I/O: it
--- reads what the host last pushed, so it is fine on every redraw. '' before the host runs.
function M.statusline()
  local state = package.loaded['hybrid.state']
  return state and state.line or ''
end

--- Usage per period (today, month, all), backend and model, with spend, budget and savings.
--- With cb: cb(stats, err) later, never blocking. Without: returns the table (waits for the
--- host and a small disk read; prefer the callback in mappings and autocommands).
function M.stats(cb)
  local rpc = require('hybrid.rpc')
  if cb then return rpc.stats(cb) end
  return rpc.wait('stats()', rpc.stats)
end

-- Where :HybridRoute and route() look: the chat's history counts (a sensitive chat stays local),
-- and the attachments `text` names, read as a send would (from the current window, unless it is
-- the chat: then from the chat's). (Shared with commands.lua; not part of the public API.)
function M._route_opts(opts, text)
  opts = opts or {}
  local chat = package.loaded['hybrid.chat'] and require('hybrid.chat') or nil
  local c = chat and chat.here() or nil
  local origin = { buf = vim.api.nvim_get_current_buf(), win = vim.api.nvim_get_current_win() }
  if vim.b.hybrid_chat_id then origin = c and c.origin or nil end
  return require('hybrid.attach').request_opts(text, origin,
    { path = opts.path, role = opts.role, chat = opts.chat or (chat and chat.id() or nil) })
end

--- Where `text` would go and why, without sending anything: a table with backend, side,
--- model, role, reason, step (and notice, refused, fallback, router_model when they apply).
--- opts: { path = file the text comes from, role = 'query'|'editor'|'research' }.
--- The first call starts the Python host and waits for it; later calls take about a millisecond.
function M.route(text, opts)
  vim.validate({ text = { text, 'string' }, opts = { opts, 'table', true } })
  local rpc = require('hybrid.rpc')
  opts = M._route_opts(opts, text)
  return rpc.wait('route()', function(cb) rpc.route(text, opts, cb) end)
end

return M
