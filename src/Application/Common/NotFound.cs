namespace Aetherra.Application.Common;

/// <summary>The resource does not exist for this tenant (another tenant's resource looks exactly the same).</summary>
public sealed class NotFound(string what) : Exception($"{what} was not found");

/// <summary>The read model did not reach the asked sequence in time.</summary>
public sealed class NotYetConsistent(long minSequence)
    : Exception($"the read model has not reached sequence {minSequence} yet; retry shortly")
{
    public long MinSequence { get; } = minSequence;
}
