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

-- Command handlers (plugin/hybrid.lua calls these lazily).

function M.chat_command(args)
  local text = args.args
  if args.range > 0 then
    local lines = vim.api.nvim_buf_get_lines(0, args.line1 - 1, args.line2, false)
    local name = vim.fn.expand('%:~:.')
    local ft = vim.bo.filetype
    local where = ('%s lines %d-%d'):format(name ~= '' and name or '[No Name]', args.line1, args.line2)
    local question = text ~= '' and text or 'Explain this code.'
    text = ('%s\n\nFrom %s:\n```%s\n%s\n```'):format(question, where, ft, table.concat(lines, '\n'))
  end
  local chat = require('hybrid.chat')
  if text == '' then
    chat.toggle()
  else
    chat.ask(text)
  end
end

function M.backend_command(args)
  if args.args == '' then
    require('hybrid.picker').backend()
  else
    require('hybrid.host').send('hybrid_backend', args.args)
  end
end

function M.model_command(args)
  if args.args == '' then
    require('hybrid.picker').model()
  else
    require('hybrid.host').send('hybrid_model', args.args)
  end
end

function M.ask_command(args) require('hybrid.ask').command(args) end
function M.accept_command() require('hybrid.ask').accept() end
function M.reject_command() require('hybrid.ask').reject() end

function M.cancel_command()
  require('hybrid.chat').cancel()
end

function M.complete_backend()
  local host = require('hybrid.host')
  if not host.running() then host.ensure() end
  local names = {}
  for _, b in ipairs((require('hybrid.state').current or {}).backends or {}) do
    table.insert(names, b.name)
  end
  table.insert(names, 'auto')
  return names
end

return M
