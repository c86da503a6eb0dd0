-- The plugin's own Python host: started on first use with the plugin's interpreter,
-- talked to with rpcnotify only (never a blocking request), restarted if it dies. This is the
-- transport; rpc.lua names the methods.
local notify = require('hybrid.notify')
local options = require('hybrid.options')

local M = {}

local chan = nil
local stderr_tail = {}
local next_reply = 0
local replies = {}

-- Keep Python from putting the current directory on sys.path, step back in CPU priority (when
-- an answer bursts in, the editor's keys and redraws come before the host's parsing: RPC p99
-- during a burst, bench/stream.py), then serve our plugin.
local bootstrap = 'import os, sys; sys.path = [p for p in sys.path if p]; '
  .. 'hasattr(os, "nice") and os.nice(10); import pynvim; pynvim.start_host()'

local function remember_stderr(_, data)
  for _, line in ipairs(data or {}) do
    if line ~= '' then
      table.insert(stderr_tail, line)
      if #stderr_tail > 20 then table.remove(stderr_tail, 1) end
    end
  end
end

-- The exception that ended the host ("ModuleNotFoundError: No module named 'pynvim'"), if its
-- stderr names one; never a line of the traceback above it.
local function exit_reason()
  for i = #stderr_tail, 1, -1 do
    local line = stderr_tail[i]
    if line:match('^[%a_][%w_.]*Error: ') or line:match('^[%a_][%w_.]*Exception: ') then
      return #line <= 120 and line or (line:sub(1, 119) .. '…')
    end
  end
end

-- What the next host takes up from the user's choices, in a few words ('' when nothing was chosen).
local function kept_choice()
  local choice = require('hybrid.state').choice or {}
  if choice.preset then return ' with preset ' .. choice.preset end
  if choice.backend then return ' with backend ' .. choice.backend end
  if choice.models and next(choice.models) then return ' with your model choice' end
  return ''
end

local function on_exit(id, code)
  vim.schedule(function()
    if chan ~= id then return end
    chan = nil
    require('hybrid.state').reset()
    require('hybrid.events').reset()
    require('hybrid.chat').on_host_exit()
    if package.loaded['hybrid.ask'] then require('hybrid.ask').on_host_exit() end
    for rid, cb in pairs(replies) do
      replies[rid] = nil
      pcall(cb, nil, 'the Python host stopped')
    end
    if vim.v.exiting ~= vim.NIL then return end
    local why = exit_reason()
    local msg = ('the Python host stopped (exit %d)%s; the next command starts it again%s'):format(code,
      why and (': ' .. why) or '', kept_choice())
    if why and why:match("No module named") then
      msg = msg .. (" — run 'make install' in %s or set setup{ python = ... }"):format(options.root)
    end
    notify.error(msg)
  end)
end

local function start()
  local python = options.python()
  if vim.fn.executable(python) ~= 1 then
    notify.error(("no Python interpreter at '%s' — run 'make install' in %s or set setup{ python = ... }"):format(python, options.root))
    return nil
  end
  stderr_tail = {}
  local ok, id = pcall(vim.fn.jobstart, { python, '-c', bootstrap, options.root .. '/rplugin/python3/hybrid' }, {
    rpc = true,
    on_stderr = remember_stderr,
    on_exit = on_exit,
  })
  if not ok or id <= 0 then
    notify.error(("could not start the Python host with '%s'"):format(python))
    return nil
  end
  chan = id
  -- After a crash, the new host takes up what the user had chosen (the old one's state is gone).
  local first = { config = options.config_path(), data_dir = options.data_dir(), restore = require('hybrid.state').choice }
  vim.rpcnotify(chan, require('hybrid.rpc').methods.start, first)
  return chan
end

--- Send a notification, starting the host first when needed. Returns false if it cannot run.
function M.send(method, ...)
  local c = chan or start()
  if not c then return false end
  vim.rpcnotify(c, method, ...)
  return true
end

--- A call with an answer: cb(result, err) runs when the host replies (never blocks).
function M.request(method, cb, ...)
  next_reply = next_reply + 1
  replies[next_reply] = cb
  if not M.send(method, next_reply, ...) then
    replies[next_reply] = nil
    cb(nil, 'the Python host is not running')
  end
end

function M.on_reply(id, result, err)
  local cb = replies[id]
  replies[id] = nil
  if cb then cb(result, err) end
end

function M.ensure() return chan ~= nil or start() ~= nil end
function M.running() return chan ~= nil end
function M.channel() return chan end

return M
