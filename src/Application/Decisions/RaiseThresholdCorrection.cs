using Wolverine.Attributes;

namespace Aetherra.Application.Decisions;

/// <summary>
/// A correction's command to make an agent more careful in one category (homeostasis sends it through Wolverine when
/// auto-approved decisions fail too often). Handled by <see cref="RaiseAutonomyThreshold"/> as <see cref="Actor"/> in
/// <see cref="Tenant"/>, with the same event and audit record; answers <see cref="RaiseAutonomyThresholdResult"/>.
/// </summary>
[MessageIdentity("decisions.raise-threshold-correction.v1")]
public sealed record RaiseThresholdCorrection(string Tenant, string Agent, string Category, double By, string Reason, string Actor);
