namespace Aetherra.Application.Common;

/// <summary>
/// Who issues a command, for which tenant, under which request. Every use case takes one: its key id
/// goes into the events' metadata and into the command's audit record, with the channel it came by.
/// </summary>
public sealed class CommandContext(string actor, string tenant, Guid requestId, string action, string channel = CommandContext.Http)
{
    public const string Http = "http";
    public const string Mcp = "mcp";
    public const string Script = "script";

    public string Actor { get; } = actor;
    public string Tenant { get; } = tenant;
    public Guid RequestId { get; } = requestId;
    public string Action { get; } = action;
    public string Channel { get; } = channel;

    /// <summary>The events' correlation id when it is not the request's: a script's steps carry their run's.</summary>
    public string? Correlation { get; init; }

    /// <summary>Set once the command's accepted audit record committed with its events.</summary>
    public bool Audited { get; internal set; }
}
