-- Agentic Optimizer for Neovim: starts `agentic-optimizer serve` as a language server and adds
-- :AgenticAsk, :AgenticExplain, :AgenticMetrics, :AgenticFeedback and :AgenticReindex.
--
-- Code actions (fix, rewrite, document, explain, tests) come through Neovim's own
-- vim.lsp.buf.code_action() (`gra` in 0.11+); edits arrive as workspace/applyEdit and Neovim
-- applies them to the buffers. Write the buffers (:wall) to keep them.
--
-- Works with Neovim 0.11+ (vim.lsp.config / vim.lsp.enable), 0.8-0.10 (vim.lsp.start) and
-- 0.7 (vim.lsp.start_client). Put this file on the runtimepath as lua/agentic-optimizer.lua
-- (or load it with dofile) and call:
--
--   require('agentic-optimizer').setup({
--     cmd = { 'agentic-optimizer', 'serve' },   -- or { '/path/venv/bin/python', '-m', 'lsp_server', 'serve' }
--     filetypes = { 'rust', 'python' },
--     settings = { budget = { dailyUsd = 0.5 } }, -- same keys as agentic-optimizer.toml
--   })
--
-- Server payloads are read by their wire names (lsp_server/wire.py, listed in docs/editors.md),
-- always through a variable named for the payload, which tests/editors/test_wire_fields.py
-- checks: `spend` (SpendParams, the agentic/spend notification), `result` (ResultJson, what
-- agentic.ask/explain/runAction return), `metrics` (MetricsResult), `stats` (ReindexResult).

local M = {}

M.name = 'agentic_optimizer'

M.defaults = {
  cmd = { 'agentic-optimizer', 'serve' },
  filetypes = { 'rust', 'python' },
  root_markers = { 'agentic-optimizer.toml', 'Cargo.toml', 'pyproject.toml', 'setup.py', '.git' },
  -- Server settings (camelCase or snake_case, as in agentic-optimizer.toml). Only what you set
  -- here is sent, so the project's agentic-optimizer.toml applies for the rest.
  settings = {},
  -- Create the :Agentic* user commands.
  commands = true,
  -- Called as on_attach(client, bufnr) when the server attaches to a buffer.
  on_attach = nil,
}

-- Filled in as the server reports: today's spend, the last result and its request id.
M.spend = nil
M.last_result = nil
M.last_request_id = nil
-- How many agentic.* commands have completed (with or without a result).
M.completed = 0
-- How the client is started: 'enable' (0.11+), 'start' (0.8-0.10) or 'start_client' (0.7).
M.mode = nil

local has = function(version)
  return vim.fn.has('nvim-' .. version) == 1
end

local function notify(msg, level)
  vim.notify('Agentic Optimizer: ' .. msg, level or vim.log.levels.INFO)
end

-- Dollars the way the status line shows them.
function M.format_usd(amount)
  amount = tonumber(amount) or 0
  if amount == 0 then
    return '$0'
  elseif math.abs(amount) >= 0.1 then
    return string.format('$%.2f', amount)
  elseif math.abs(amount) < 0.0001 then
    return '<$0.0001'
  end
  local s = string.format('$%.4f', amount):gsub('0+$', '')
  return s
end

-- For 'statusline': `set statusline+=%{v:lua.require'agentic-optimizer'.statusline()}`
function M.statusline()
  local spend = M.spend
  if type(spend) ~= 'table' then
    return ''
  end
  return string.format('AI %s · saved %s', M.format_usd(spend.spent_usd), M.format_usd(spend.saved_usd))
end

-- After every finished request: today's figures, and the id of that request (null when the
-- notification follows no request), so :AgenticFeedback also rates a resolved code action.
local function on_spend(err, spend)
  if err == nil and type(spend) == 'table' then
    M.spend = spend
    if type(spend.request_id) == 'string' then
      M.last_request_id = spend.request_id
    end
    pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'AgenticSpend', modeline = false })
    pcall(vim.cmd, 'redrawstatus')
  end
end

-- Notification handlers take (err, result, ctx, config) in 0.5.1+.
M.handlers = {
  ['agentic/spend'] = on_spend,
}

-- The client's request method: client:request() from 0.11, client.request() before.
local function client_request(client, method, params, handler, bufnr)
  if has('0.11') then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function all_clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = M.name })
  end
  local out = {}
  for _, c in ipairs(vim.lsp.get_active_clients()) do
    if c.name == M.name then
      table.insert(out, c)
    end
  end
  return out
end

-- Our client attached to bufnr, else any running client of ours.
function M.get_client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local clients = all_clients()
  for _, c in ipairs(clients) do
    if vim.lsp.buf_is_attached(bufnr, c.id) then
      return c
    end
  end
  return clients[1]
end

local function find_root(bufnr, markers)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local start = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.fn.getcwd()
  if vim.fs and vim.fs.find then
    local found = vim.fs.find(markers, { upward = true, path = start })[1]
    return found and vim.fn.fnamemodify(found, ':h') or start
  end
  local dir = start
  while dir and dir ~= '' do
    for _, marker in ipairs(markers) do
      if vim.loop.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      break
    end
    dir = parent
  end
  return start
end

-- The client configuration shared by every start method.
function M.client_config(cfg)
  -- An empty Lua table would go out as a JSON array: send an empty object instead.
  local user = cfg.settings
  if type(user) ~= 'table' or next(user) == nil then
    user = vim.empty_dict()
  end
  local settings = { agenticOptimizer = user }
  return {
    name = M.name,
    cmd = cfg.cmd,
    filetypes = cfg.filetypes,
    root_markers = cfg.root_markers,
    init_options = settings,
    settings = settings,
    handlers = M.handlers,
    on_attach = cfg.on_attach,
  }
end

-- Start (or reuse) the server for bufnr on Neovim versions without vim.lsp.enable.
function M.start(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local cfg = M.config or M.defaults
  local conf = M.client_config(cfg)
  conf.root_dir = find_root(bufnr, cfg.root_markers)
  conf.filetypes = nil
  conf.root_markers = nil
  if vim.lsp.start then -- 0.8+: reuses the client with the same name and root
    return vim.lsp.start(conf, { bufnr = bufnr })
  end
  -- 0.7: one client per root, attached by hand.
  M._by_root = M._by_root or {}
  local id = M._by_root[conf.root_dir]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    conf.workspace_folders = { { uri = vim.uri_from_fname(conf.root_dir), name = conf.root_dir } }
    id = vim.lsp.start_client(conf)
    M._by_root[conf.root_dir] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

-- LSP position of (row, byte col), both 0-based, in the client's encoding.
local function position(bufnr, row, col, client)
  if col == 0 then
    return { line = row, character = 0 }
  end
  local encoding = client.offset_encoding or 'utf-16'
  local ok, character = pcall(vim.lsp.util.character_offset, bufnr, row, col, encoding)
  return { line = row, character = ok and character or col }
end

-- The range a command applies to: the characters of a charwise visual selection, the lines of
-- a :'<,'> or :N,M range, else the cursor's line.
function M.command_range(opts, bufnr, client)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local line1, line2
  if opts and opts.range and opts.range > 0 then
    line1, line2 = opts.line1, opts.line2
  else
    line1 = vim.api.nvim_win_get_cursor(0)[1]
    line2 = line1
  end
  local last = vim.api.nvim_buf_line_count(bufnr)
  if opts and opts.range and opts.range > 0 and vim.fn.visualmode() == 'v' then
    local s = vim.api.nvim_buf_get_mark(bufnr, '<')
    local e = vim.api.nvim_buf_get_mark(bufnr, '>')
    if s[1] == line1 and e[1] == line2 then
      local line = vim.api.nvim_buf_get_lines(bufnr, line2 - 1, line2, false)[1] or ''
      local ch = vim.fn.strcharpart(line:sub(e[2] + 1), 0, 1)
      local end_col = math.min(e[2] + #ch, #line)
      return {
        start = position(bufnr, line1 - 1, s[2], client),
        ['end'] = position(bufnr, line2 - 1, end_col, client),
      }
    end
  end
  local finish
  if line2 < last then
    finish = { line = line2, character = 0 }
  else
    local text = vim.api.nvim_buf_get_lines(bufnr, line2 - 1, line2, false)[1] or ''
    finish = position(bufnr, line2 - 1, #text, client)
  end
  return { start = { line = line1 - 1, character = 0 }, ['end'] = finish }
end

local function summary_line(result)
  if type(result) ~= 'table' then
    return ''
  end
  local parts = {}
  if result.outcome then
    table.insert(parts, tostring(result.outcome))
  end
  if result.applied ~= nil then
    table.insert(parts, result.applied and 'applied' or 'not applied')
  end
  if result.tier and result.tier ~= vim.NIL then
    local tier = tostring(result.tier)
    if result.model and result.model ~= vim.NIL then
      tier = tier .. ' (' .. tostring(result.model) .. ')'
    end
    table.insert(parts, tier)
  end
  if type(result.cost_usd) == 'number' then
    table.insert(parts, M.format_usd(result.cost_usd))
  end
  if type(result.confidence) == 'number' then
    table.insert(parts, string.format('confidence %.2f', result.confidence))
  end
  if result.request_id then
    table.insert(parts, 'request ' .. tostring(result.request_id))
  end
  return table.concat(parts, ' · ')
end
M.summary_line = summary_line

-- Run workspace/executeCommand; on_result(result) gets the server's answer.
function M.execute(command, arguments, on_result, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = M.get_client(bufnr)
  if not client then
    notify('the server is not running for this buffer', vim.log.levels.ERROR)
    return
  end
  local params = { command = command, arguments = arguments or {} }
  client_request(client, 'workspace/executeCommand', params, function(err, result)
    M.completed = M.completed + 1
    if err then
      M.last_result = nil
      notify(command .. ': ' .. tostring(err.message or err), vim.log.levels.ERROR)
      return
    end
    if result == vim.NIL then
      result = nil
    end
    M.last_result = result
    if type(result) == 'table' and result.request_id and result.request_id ~= vim.NIL then
      M.last_request_id = tostring(result.request_id)
    end
    if on_result then
      on_result(result)
    end
  end, bufnr)
end

local function show_text(title, text, filetype)
  local lines = vim.split(text or '', '\n', { plain = true })
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].filetype = filetype or 'markdown'
  vim.bo[buf].bufhidden = 'wipe'
  pcall(vim.api.nvim_buf_set_name, buf, 'agentic://' .. title)
  if #vim.api.nvim_list_uis() > 0 then
    vim.cmd('botright split')
    vim.api.nvim_win_set_buf(0, buf)
    vim.api.nvim_win_set_height(0, math.min(#lines + 1, 20))
  end
  return buf
end

local function target(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.get_client(bufnr)
  if not client then
    notify('the server is not running for this buffer', vim.log.levels.ERROR)
    return nil
  end
  return bufnr, vim.uri_from_bufnr(bufnr), M.command_range(opts, bufnr, client)
end

-- :AgenticAsk {instruction}: on the range; the server applies the edit with workspace/applyEdit.
function M.ask(instruction, opts)
  if not instruction or vim.trim(instruction) == '' then
    notify('usage: :[range]AgenticAsk {instruction}', vim.log.levels.ERROR)
    return
  end
  local bufnr, uri, range = target(opts)
  if not bufnr then
    return
  end
  M.execute('agentic.ask', { uri, range, vim.trim(instruction) }, function(result)
    if type(result) ~= 'table' then
      return
    end
    local answer = result.answer
    if type(answer) == 'string' and answer ~= '' and not result.applied then
      show_text('answer', answer)
    end
    notify(summary_line(result))
  end, bufnr)
end

-- :AgenticExplain: explanation of the range in a scratch window.
function M.explain(opts)
  local bufnr, uri, range = target(opts)
  if not bufnr then
    return
  end
  M.execute('agentic.explain', { uri, range }, function(result)
    if type(result) == 'table' and type(result.answer) == 'string' then
      show_text('explanation', result.answer)
    end
    notify(summary_line(result))
  end, bufnr)
end

-- :AgenticMetrics: today's summary in a scratch window.
function M.metrics()
  M.execute('agentic.showMetrics', {}, function(metrics)
    local text = type(metrics) == 'table' and metrics.text
    if type(text) == 'string' then
      show_text('metrics', text, 'text')
    end
  end)
end

-- :AgenticFeedback accept|reject|1-5 [request_id]
function M.feedback(verdict, request_id)
  request_id = request_id or M.last_request_id
  if not request_id then
    notify('no request to give feedback on yet; pass its id: :AgenticFeedback accept ID', vim.log.levels.ERROR)
    return
  end
  local value = tonumber(verdict) or verdict
  M.execute('agentic.feedback', { request_id, value }, function()
    notify('feedback recorded for request ' .. request_id)
  end)
end

-- :AgenticReindex
function M.reindex()
  M.execute('agentic.reindex', {}, function(stats)
    local files = type(stats) == 'table' and stats.files
    notify(files and ('indexed ' .. tostring(files) .. ' files') or 'index updated')
  end)
end

function M.create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd('AgenticAsk', function(o)
    M.ask(o.args, o)
  end, { nargs = '+', range = true, desc = 'Agentic Optimizer: ask for a change on the range' })
  cmd('AgenticExplain', function(o)
    M.explain(o)
  end, { range = true, desc = 'Agentic Optimizer: explain the range' })
  cmd('AgenticMetrics', function()
    M.metrics()
  end, { desc = "Agentic Optimizer: today's spend and savings" })
  cmd('AgenticReindex', function()
    M.reindex()
  end, { desc = 'Agentic Optimizer: rebuild the index' })
  cmd('AgenticFeedback', function(o)
    M.feedback(o.fargs[1], o.fargs[2])
  end, {
    nargs = '+',
    complete = function()
      return { 'accept', 'reject', '1', '2', '3', '4', '5' }
    end,
    desc = 'Agentic Optimizer: accept|reject|1-5 [request_id] for the last result',
  })
end

function M.setup(opts)
  local cfg = vim.tbl_deep_extend('force', {}, M.defaults, opts or {})
  -- Lists are replaced, not merged index by index.
  for _, key in ipairs({ 'cmd', 'filetypes', 'root_markers' }) do
    if opts and opts[key] then
      cfg[key] = opts[key]
    end
  end
  M.config = cfg
  if vim.lsp.config and vim.lsp.enable then -- 0.11+
    M.mode = 'enable'
    local conf = M.client_config(cfg)
    conf.name = nil
    vim.lsp.config(M.name, conf)
    vim.lsp.enable(M.name)
  else
    M.mode = vim.lsp.start and 'start' or 'start_client'
    local group = vim.api.nvim_create_augroup('AgenticOptimizer', { clear = true })
    vim.api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = cfg.filetypes,
      callback = function(args)
        M.start(args.buf)
      end,
    })
    -- Buffers already open when setup() runs.
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(cfg.filetypes, vim.bo[buf].filetype) then
        M.start(buf)
      end
    end
  end
  if cfg.commands then
    M.create_commands()
  end
  return M
end

return M
