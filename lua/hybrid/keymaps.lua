-- What the <Plug> maps run (plugin/hybrid.lua defines them) and the opt-in <leader>h maps
-- (setup{ keymaps = true }); see :help hybrid-keymaps. No global map is set otherwise.
local M = {}

-- Each <leader>h key runs a <Plug> map, so remapping the <Plug> map changes it too.
M.leader = {
  { 'n', 'c', 'chat', 'open or close the chat' },
  { 'x', 'c', 'chat', 'ask the chat about the selection' },
  { 'n', 'n', 'new-chat', 'start a new chat' },
  { { 'n', 'x' }, 'a', 'ask', 'rewrite the line or selection' },
  { 'n', 'b', 'backend', 'pick the backend' },
  { 'n', 'm', 'model', 'pick the model' },
  { 'n', 'p', 'preset', 'pick a preset' },
  { 'n', 'h', 'chats', 'saved chats' },
  { 'n', 'r', 'retry', "redo the chat's last turn" },
  { 'n', 'x', 'cancel', 'stop every answer' },
  { 'n', 's', 'stats', 'usage, cost and savings' },
}

function M.set_leader_maps()
  for _, m in ipairs(M.leader) do
    vim.keymap.set(m[1], '<leader>h' .. m[2], '<Plug>(hybrid-' .. m[3] .. ')', { remap = true, desc = 'hybrid: ' .. m[4] })
  end
end

--- Ask for the instruction, then rewrite the visual selection (or the current line).
function M.ask_prompt(visual)
  vim.ui.input({ prompt = '(hybrid) rewrite: ' }, function(text)
    if text and text ~= '' then vim.cmd((visual and "'<,'>" or '.') .. 'HybridAsk ' .. text) end
  end)
end

--- Ask a question about the visual selection in the chat (empty: "Explain this code.").
function M.chat_about_selection()
  vim.ui.input({ prompt = '(hybrid) ask about the selection: ' }, function(text)
    if text ~= nil then vim.cmd("'<,'>HybridChat " .. text) end
  end)
end

return M
