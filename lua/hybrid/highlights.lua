-- Highlight groups, linked by default so every colorscheme works.
local M = {}

local links = {
  HybridAdd = 'DiffAdd', -- the proposed text in a review
  HybridDelete = 'DiffDelete', -- the text a review would replace
  HybridHeader = 'Title', -- the review's header line
  HybridStatus = 'Comment', -- the chat's status line under an answer's header (a retry, a fallback)
  HybridChartLocal = 'DiagnosticOk', -- :HybridStats bars: tokens answered locally
  HybridChartCloud = 'DiagnosticWarn', -- :HybridStats bars: tokens and spend in the cloud
  -- The chat's markdown (chat/highlight.lua), linked to the markup groups colorschemes style.
  HybridChatHeading = '@markup.heading',
  HybridChatQuote = '@markup.quote',
  HybridChatList = '@markup.list',
  HybridChatStrong = '@markup.strong',
  HybridChatItalic = '@markup.italic',
  HybridChatCode = '@markup.raw',
  HybridChatCodeBlock = '@markup.raw.block',
  HybridChatFence = '@markup.raw.delimiter',
  HybridChatLinkText = '@markup.link.label',
  HybridChatLinkUrl = '@markup.link.url',
}

function M.setup()
  for group, target in pairs(links) do
    vim.api.nvim_set_hl(0, group, { link = target, default = true })
  end
end

M.setup()
vim.api.nvim_create_autocmd('ColorScheme', { group = vim.api.nvim_create_augroup('hybrid_highlights', {}), callback = M.setup })

return M
