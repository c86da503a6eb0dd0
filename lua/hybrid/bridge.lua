-- Entry point for the host's pushes: one call per flush carrying a batch of events (their names
-- and fields are in rpc.lua). Handlers look up the chat and ask modules at each event, so a
-- module reloaded or wrapped (by a test, a benchmark) gets them.
local M = {}

local events = require('hybrid.events')
local rpc = require('hybrid.rpc')
local E = rpc.events

-- A stream's text or progress goes to the edit it belongs to, else to its chat. The edit's
-- handlers find their ask id in ev.id, as on ask_start and ask_end.
local function to_stream(handler)
  return function(ev)
    local ask_id = rpc.ask_id(ev.chat)
    if ask_id then
      ev.id = ask_id
      return require('hybrid.ask')[handler](ev)
    end
    require('hybrid.chat')[handler](ev)
  end
end

M.handlers = {
  [E.state] = function(ev)
    require('hybrid.state').update(ev.state)
    events.state(ev.state)
  end,
  [E.notify] = function(ev) require('hybrid.notify').notify(ev.message, ev.level) end,
  [E.reply] = function(ev) require('hybrid.host').on_reply(ev.id, ev.result, ev.error) end,
  [E.attachments] = function(ev) require('hybrid.chat').on_attachments(ev) end,
  [E.turn_start] = function(ev)
    require('hybrid.chat').on_turn_start(ev)
    events.request_start(ev)
  end,
  [E.delta] = to_stream('on_delta'),
  [E.progress] = to_stream('on_progress'),
  [E.ask_start] = function(ev)
    require('hybrid.ask').on_start(ev)
    events.request_start(ev)
  end,
  [E.ask_end] = function(ev)
    require('hybrid.ask').on_end(ev)
    events.request_done(ev)
  end,
  [E.turn_end] = function(ev)
    require('hybrid.chat').on_turn_end(ev)
    events.request_done(ev)
  end,
  [E.confirm] = function(ev)
    -- After this batch: a picker may wait for the user, the stream must not.
    vim.schedule(function()
      vim.ui.select({ 'Send anyway', 'Do not send' }, { prompt = '(hybrid) ' .. ev.message, kind = 'hybrid_confirm' },
        function(choice) rpc.confirm(ev.id, choice == 'Send anyway') end)
    end)
  end,
}

function M.dispatch(batch)
  for _, ev in ipairs(batch) do
    local handler = M.handlers[ev.type]
    if handler then
      local ok, err = pcall(handler, ev)
      if not ok then require('hybrid.notify').error('could not show an update: ' .. tostring(err)) end
    end
  end
end

return M
