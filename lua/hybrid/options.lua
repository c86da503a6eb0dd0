-- setup() options: defaults, validation against a schema, and the resolved values.
local M = {}

local root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h')

M.root = root

M.defaults = {
  config = nil, -- default: $HYBRID_CONFIG, else ~/.config/hybrid/setup.yaml
  data_dir = nil, -- default: stdpath('data') .. '/hybrid'
  python = nil, -- default: <plugin>/.venv/bin/python, else g:python3_host_prog, else python3
  keymaps = false, -- true: the <leader>h maps of :help hybrid-keymaps (none are set otherwise)
  chat = {
    layout = 'split', -- split | vsplit | float | tab
    size = nil, -- rows (split) or columns (vsplit); nil: a third of the screen
    keys = { -- buffer-local in chat buffers; false turns one off
      send = '<CR>', -- normal mode: send the prompt being written
      backend = '<C-x>', -- normal and insert mode: the backend picker
      cancel = '<C-c>', -- stop this chat's answer
      close = 'q', -- close the chat window
    },
  },
  ask = {
    accept = 'ga', -- review keys, buffer-local while an edit is pending
    reject = 'gr',
  },
}

local schema = {
  config = { 'string', true },
  data_dir = { 'string', true },
  python = { 'string', true },
  keymaps = { 'boolean', true },
  chat = { 'table', true },
  ask = { 'table', true },
}

local layouts = { split = true, vsplit = true, float = true, tab = true }

M.values = vim.deepcopy(M.defaults)

local function check(opts)
  for key, value in pairs(opts) do
    local rule = schema[key]
    if not rule then return ("setup(): unknown option '%s'"):format(key) end
    if value ~= nil and type(value) ~= rule[1] then
      return ("setup(): option '%s' must be a %s, got %s"):format(key, rule[1], type(value))
    end
  end
  local chat = opts.chat or {}
  if chat.layout ~= nil and not layouts[chat.layout] then
    return ("setup(): chat.layout must be split, vsplit, float or tab, got %s"):format(vim.inspect(chat.layout))
  end
  if chat.size ~= nil and (type(chat.size) ~= 'number' or chat.size < 1) then
    return 'setup(): chat.size must be a positive number'
  end
  local keys = chat.keys
  if keys ~= nil and type(keys) ~= 'table' then return 'setup(): chat.keys must be a table' end
  for name, lhs in pairs(keys or {}) do
    if M.defaults.chat.keys[name] == nil then
      return ("setup(): unknown key chat.keys.%s (send, backend, cancel or close)"):format(name)
    end
    if lhs ~= false and (type(lhs) ~= 'string' or lhs == '') then
      return ('setup(): chat.keys.%s must be a key sequence such as "<CR>", or false'):format(name)
    end
  end
  for _, key in ipairs({ 'accept', 'reject' }) do
    local lhs = (opts.ask or {})[key]
    if lhs ~= nil and (type(lhs) ~= 'string' or lhs == '') then
      return ('setup(): ask.%s must be a key sequence such as "ga"'):format(key)
    end
  end
end

--- Validate and store; on a bad option, say so and keep the previous values.
function M.set(opts)
  opts = opts or {}
  local err = check(opts)
  if err then
    require('hybrid.notify').error(err)
    return false
  end
  M.values = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  if M.values.keymaps then require('hybrid.keymaps').set_leader_maps() end
  return true
end

function M.config_path()
  local path = M.values.config or vim.env.HYBRID_CONFIG or '~/.config/hybrid/setup.yaml'
  return vim.fn.expand(path)
end

function M.data_dir()
  return vim.fn.expand(M.values.data_dir or (vim.fn.stdpath('data') .. '/hybrid'))
end

function M.python()
  if M.values.python then return vim.fn.expand(M.values.python) end
  local venv = root .. '/.venv/bin/python'
  if vim.fn.executable(venv) == 1 then return venv end
  local prog = vim.g.python3_host_prog
  if type(prog) == 'string' and prog ~= '' then return vim.fn.expand(prog) end
  return 'python3'
end

return M
