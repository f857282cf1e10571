using System.Security.Claims;
using Aetherra.Api.Auth;
using Aetherra.Application.Common;

namespace Aetherra.Api.Mcp;

/// <summary>
/// The caller of one MCP request (scoped: one per request), set by <see cref="McpGate"/> before the tool runs:
/// the key's principal and, for a command, its <see cref="CommandContext"/> on the <c>mcp</c> channel.
/// </summary>
public sealed class McpCall
{
    private ClaimsPrincipal? _user;
    private CommandContext? _command;

    public ClaimsPrincipal User => _user ?? throw new InvalidOperationException("the MCP call has no caller");
    public string Tenant => User.Tenant();
    public bool HasScope(string scope) => User.HasScope(scope);

    /// <summary>The command's context; only tools that declare an audit action have one.</summary>
    public CommandContext Command => _command ?? throw new InvalidOperationException("this tool is not an audited command");

    internal CommandContext? CommandOrNull => _command;

    internal void Begin(ClaimsPrincipal user, string? action)
    {
        _user = user;
        if (action is not null)
            _command = new CommandContext(user.KeyId(), user.Tenant(), Guid.CreateVersion7(), action, CommandContext.Mcp);
    }
}
