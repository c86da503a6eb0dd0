-- hybrid.nvim: user commands only. Nothing heavy is loaded until a command runs.
if vim.g.loaded_hybrid then return end
vim.g.loaded_hybrid = true

local function hybrid() return require('hybrid.commands') end

local command = vim.api.nvim_create_user_command

command('HybridChat', function(args) hybrid().chat_command(args) end,
  { nargs = '*', range = true, desc = 'hybrid: open the chat, or send text to it' })

-- Completion of the names a commands.lua function returns (it asks the host's last state).
local function names_from(names)
  return function(lead)
    return vim.tbl_filter(function(n) return n:find(lead, 1, true) == 1 end, hybrid()[names]())
  end
end
local complete_backend = names_from('complete_backend')

command('HybridChats', function() hybrid().chats_command() end,
  { desc = 'hybrid: saved chats, to reopen or delete' })

command('HybridRetry', function(args) hybrid().retry_command(args) end,
  { nargs = '?', complete = complete_backend, desc = "hybrid: redo the chat's last turn (on another backend)" })

command('HybridBackend', function(args) hybrid().backend_command(args) end,
  { nargs = '?', complete = complete_backend, desc = 'hybrid: switch the backend (no name: picker)' })

command('HybridPreset', function(args) hybrid().preset_command(args) end,
  { nargs = '?', complete = names_from('complete_preset'), desc = 'hybrid: use a preset (backend, model, system prompt); no name: picker' })

command('HybridModel', function(args) hybrid().model_command(args) end,
  { nargs = '?', complete = names_from('complete_model'), desc = "hybrid: switch the backend's model (no name: picker)" })

command('HybridCancel', function() hybrid().cancel_command() end,
  { desc = 'hybrid: stop every answer in flight' })

command('HybridAsk', function(args) hybrid().ask_command(args) end,
  { nargs = '*', range = true, bang = true, desc = 'hybrid: rewrite the selection (! applies without review)' })

command('HybridRoute', function(args) hybrid().route_command(args) end,
  { nargs = '+', range = true, desc = 'hybrid: show where a request would go and why (sends nothing)' })

command('HybridStats', function() hybrid().stats_command() end,
  { desc = 'hybrid: tokens, cost and speed per backend and model; what going hybrid saved' })

command('HybridCorrections', function(args) hybrid().corrections_command(args) end,
  { nargs = '?', complete = function() return { 'forget' } end,
    desc = 'hybrid: what the router learned from your @cloud/@local and retries; forget drops it' })

command('HybridAccept', function() hybrid().accept_command() end, { desc = 'hybrid: apply the pending edit' })

command('HybridReject', function() hybrid().reject_command() end, { desc = 'hybrid: drop the pending edit' })

-- <Plug> maps: nothing is mapped to a key unless setup{ keymaps = true } or the user maps these.
-- (nvim_set_keymap rather than vim.keymap.set: this file runs at every start.)
local function plug(mode, name, rhs, desc)
  vim.api.nvim_set_keymap(mode, '<Plug>(hybrid-' .. name .. ')', rhs, { noremap = true, silent = true, desc = 'hybrid: ' .. desc })
end
local keymaps = "lua require('hybrid.keymaps')."
plug('n', 'chat', '<Cmd>HybridChat<CR>', 'open or close the chat')
plug('x', 'chat', ':<C-u>' .. keymaps .. 'chat_about_selection()<CR>', 'ask the chat about the selection')
plug('n', 'new-chat', '<Cmd>HybridChat new<CR>', 'start a new chat')
plug('n', 'ask', '<Cmd>' .. keymaps .. 'ask_prompt(false)<CR>', 'rewrite the current line')
plug('x', 'ask', ':<C-u>' .. keymaps .. 'ask_prompt(true)<CR>', 'rewrite the selection')
plug('n', 'accept', '<Cmd>HybridAccept<CR>', 'apply the pending edit')
plug('n', 'reject', '<Cmd>HybridReject<CR>', 'drop the pending edit')
plug('n', 'backend', '<Cmd>HybridBackend<CR>', 'pick the backend')
plug('n', 'model', '<Cmd>HybridModel<CR>', 'pick the model')
plug('n', 'preset', '<Cmd>HybridPreset<CR>', 'pick a preset')
plug('n', 'chats', '<Cmd>HybridChats<CR>', 'saved chats')
plug('n', 'retry', '<Cmd>HybridRetry<CR>', "redo the chat's last turn")
plug('n', 'cancel', '<Cmd>HybridCancel<CR>', 'stop every answer')
plug('n', 'stats', '<Cmd>HybridStats<CR>', 'usage, cost and savings')
plug('n', 'apply', "<Cmd>lua require('hybrid.chat.apply').apply()<CR>", 'apply the code block under the cursor (in a chat)')
