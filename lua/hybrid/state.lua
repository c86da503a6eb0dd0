-- What the host last told us, so status() and pickers need no round trip.
local M = {}

M.current = nil -- the host's latest state table
M.inflight = 0 -- answers streaming now
local waiting = {}

function M.update(state)
  M.current = state
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
    } or nil,
  }
end

return M
