namespace Aetherra.Application.Common;

/// <summary>
/// Who issues a command, for which tenant, under which request. Every use case takes one: its key id
/// goes into the events' metadata and into the command's audit record.
/// </summary>
public sealed class CommandContext(string actor, string tenant, Guid requestId, string action)
{
    public string Actor { get; } = actor;
    public string Tenant { get; } = tenant;
    public Guid RequestId { get; } = requestId;
    public string Action { get; } = action;

    /// <summary>Set once the command's accepted audit record committed with its events.</summary>
    public bool Audited { get; internal set; }
}
