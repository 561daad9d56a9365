-- Drives headless Neovim through the user's path with editors/neovim/agentic-optimizer.lua:
-- open a file, list code actions, apply one through vim.lsp.buf.code_action (which resolves the
-- edit lazily), write the buffer; then run :AgenticAsk on a line range and write again.
-- Inputs come from environment variables; every step's outcome goes to a JSON report that
-- tests/editors/test_editors_neovim_e2e.py checks. Exits with :cquit on an unexpected error.

local env = vim.env
local report = { steps = {}, messages = {} }

local function save()
  local fh = assert(io.open(env.AO_REPORT, 'w'))
  fh:write(vim.json.encode(report))
  fh:close()
end

local function step(name, value)
  report.steps[name] = value == nil and true or value
  save()
end

-- Keep what the server shows the user (window/showMessage) and what vim.notify prints.
local orig_notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(report.messages, tostring(msg))
  save()
  return orig_notify(msg, level, opts)
end

local function buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
end

local function run()
  local plugin = dofile(env.AO_PLUGIN)
  local handlers = plugin.handlers
  handlers['window/showMessage'] = function(_, params)
    table.insert(report.messages, params.message)
    save()
  end
  if env.AO_WITHOUT_ENABLE == '1' then
    -- Take the Neovim 0.8-0.10 path (vim.lsp.start per buffer) on a newer Neovim.
    vim.lsp.enable = nil
  end
  plugin.setup({
    cmd = vim.json.decode(env.AO_CMD),
    filetypes = { 'rust' },
    settings = vim.json.decode(env.AO_SETTINGS),
  })
  step('mode', plugin.mode)
  local v = vim.version()
  step('version', string.format('%d.%d.%d', v.major, v.minor, v.patch))

  vim.cmd('edit ' .. vim.fn.fnameescape(env.AO_FILE))
  local buf = vim.api.nvim_get_current_buf()
  step('filetype', vim.bo[buf].filetype)

  local attached = vim.wait(30000, function()
    local c = plugin.get_client(buf)
    return c ~= nil and c.initialized ~= false and c.server_capabilities ~= nil
      and vim.lsp.buf_is_attached(buf, c.id)
  end, 50)
  step('attached', attached)
  if not attached then
    return
  end
  local client = plugin.get_client(buf)
  step('offset_encoding', client.offset_encoding)

  -- 1. List the code actions for the selected lines: instant, and no edit computed yet.
  local first, last = tonumber(env.AO_ACTION_LINE1), tonumber(env.AO_ACTION_LINE2)
  local range = { start = { line = first - 1, character = 0 }, ['end'] = { line = last, character = 0 } }
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = range,
    context = { diagnostics = {} },
  }
  local responses = vim.lsp.buf_request_sync(buf, 'textDocument/codeAction', params, 20000) or {}
  local listed = {}
  for _, response in pairs(responses) do
    for _, action in ipairs(response.result or {}) do
      table.insert(listed, { title = action.title, kind = action.kind, has_edit = action.edit ~= nil,
        has_command = action.command ~= nil })
    end
  end
  step('listed', listed)

  -- 2. Apply the chosen action the way a user does; Neovim resolves the edit and applies it.
  local before = buffer_text(buf)
  local pattern = env.AO_ACTION_TITLE
  vim.api.nvim_win_set_cursor(0, { first, 0 })
  if vim.fn.has('nvim-0.8') == 1 then
    vim.lsp.buf.code_action({
      apply = true,
      range = { start = { first, 0 }, ['end'] = { last, 0 } },
      filter = function(action)
        return action.title:find(pattern, 1, true) ~= nil
      end,
    })
  else
    -- 0.7 has no apply/filter: pick the action in the menu the way a user would.
    vim.ui.select = function(items, opts, on_choice)
      for i, item in ipairs(items) do
        if opts.format_item(item):find(pattern, 1, true) then
          return on_choice(item, i)
        end
      end
      on_choice(nil, nil)
    end
    vim.lsp.buf.range_code_action(nil, { first, 0 }, { last, 0 })
  end
  local seen = #report.messages
  local changed = vim.wait(60000, function()
    return buffer_text(buf) ~= before or #report.messages > seen
  end, 50)
  changed = vim.wait(1000, function()
    return buffer_text(buf) ~= before
  end, 50)
  step('action_applied', changed)
  -- The resolve returns no command result: the agentic/spend notification named its request.
  step('action_request_id', plugin.last_request_id or false)
  if changed then
    vim.cmd('write')
    step('action_written', not vim.bo[buf].modified)
  end

  -- 3. :AgenticAsk on a line range; the server sends workspace/applyEdit.
  local ask_file = env.AO_ASK_FILE
  vim.cmd('edit ' .. vim.fn.fnameescape(ask_file))
  local ask_buf = vim.api.nvim_get_current_buf()
  vim.wait(10000, function()
    return vim.lsp.buf_is_attached(ask_buf, client.id)
  end, 50)
  local ask_before = buffer_text(ask_buf)
  local done = plugin.completed
  vim.cmd(string.format('%s,%sAgenticAsk %s', env.AO_ASK_LINE1, env.AO_ASK_LINE2, env.AO_ASK_INSTRUCTION))
  vim.wait(60000, function()
    return plugin.completed > done
  end, 50)
  step('ask_result', plugin.last_result or false)
  step('ask_applied', buffer_text(ask_buf) ~= ask_before)
  vim.cmd('wall')
  step('ask_written', not vim.bo[ask_buf].modified)
  step('last_request_id', plugin.last_request_id or false)

  -- 4. :AgenticExplain on a line range: the answer lands in a scratch buffer.
  done = plugin.completed
  vim.cmd(string.format('%s,%sAgenticExplain', env.AO_EXPLAIN_LINE1, env.AO_EXPLAIN_LINE2))
  vim.wait(60000, function()
    return plugin.completed > done
  end, 50)
  step('explain_result', plugin.last_result or false)
  local shown = false
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b):find('agentic://explanation', 1, true) then
      shown = buffer_text(b)
    end
  end
  step('explain_shown', shown)

  -- 5. :AgenticMetrics answers with today's summary.
  done = plugin.completed
  vim.cmd('AgenticMetrics')
  vim.wait(20000, function()
    return plugin.completed > done
  end, 50)
  step('metrics', plugin.last_result or false)
  step('spend', plugin.spend or false)
  step('statusline', plugin.statusline())
end

local ok, err = xpcall(run, debug.traceback)
report.error = (not ok) and tostring(err) or nil
save()
for _, c in ipairs(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) do
  vim.lsp.stop_client(c.id)
end
vim.wait(3000, function()
  return #(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) == 0
end, 50)
vim.cmd(ok and 'qall!' or 'cquit! 3')
