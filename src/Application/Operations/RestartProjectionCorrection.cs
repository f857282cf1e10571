using Wolverine.Attributes;

namespace Aetherra.Application.Operations;

/// <summary>
/// A correction's command to restart a stalled async projection on this node (homeostasis sends it through
/// Wolverine). Handled by <see cref="ProjectionOperations.RestartAsync"/>; answers what happened.
/// </summary>
[MessageIdentity("operations.restart-projection-correction.v1")]
public sealed record RestartProjectionCorrection(string Projection);

public sealed record ProjectionRestarted(string Projection, string Outcome);
