-- Entry point for the host's pushes: one call per flush carrying a batch of events.
local M = {}

local events = require('hybrid.events')

local handlers = {
  state = function(ev)
    require('hybrid.state').update(ev.state)
    events.state(ev.state)
  end,
  notify = function(ev) require('hybrid.notify').notify(ev.message, ev.level) end,
  reply = function(ev) require('hybrid.host').on_reply(ev.id, ev.result, ev.error) end,
  turn_start = function(ev)
    require('hybrid.chat').on_turn_start(ev)
    events.request_start(ev)
  end,
  delta = function(ev)
    if ev.chat:sub(1, 4) == 'ask:' then return require('hybrid.ask').on_delta(ev) end
    require('hybrid.chat').on_delta(ev)
  end,
  progress = function(ev)
    if ev.chat:sub(1, 4) == 'ask:' then return require('hybrid.ask').on_progress(ev) end
    require('hybrid.chat').on_progress(ev)
  end,
  ask_start = function(ev)
    require('hybrid.ask').on_start(ev)
    events.request_start(ev)
  end,
  ask_end = function(ev)
    require('hybrid.ask').on_end(ev)
    events.request_done(ev)
  end,
  turn_end = function(ev)
    require('hybrid.chat').on_turn_end(ev)
    events.request_done(ev)
  end,
  confirm = function(ev)
    -- After this batch: a picker may wait for the user, the stream must not.
    vim.schedule(function()
      vim.ui.select({ 'Send anyway', 'Do not send' }, { prompt = '(hybrid) ' .. ev.message, kind = 'hybrid_confirm' },
        function(choice) require('hybrid.host').send('hybrid_confirm', ev.id, choice == 'Send anyway') end)
    end)
  end,
}

function M.dispatch(batch)
  for _, ev in ipairs(batch) do
    local handler = handlers[ev.type]
    if handler then
      local ok, err = pcall(handler, ev)
      if not ok then require('hybrid.notify').error('could not show an update: ' .. tostring(err)) end
    end
  end
end

return M
