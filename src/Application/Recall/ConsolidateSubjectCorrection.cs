using Wolverine.Attributes;

namespace Aetherra.Application.Recall;

/// <summary>
/// A correction's command to consolidate a subject over its memory budget (homeostasis sends it through Wolverine).
/// Handled by <see cref="ConsolidateMemories"/> as <see cref="Actor"/> in <see cref="Tenant"/>, as POST
/// /memories/consolidate is; answers the job started.
/// </summary>
[MessageIdentity("recall.consolidate-subject-correction.v1")]
public sealed record ConsolidateSubjectCorrection(string Tenant, string Subject, string Actor);

public sealed record ConsolidationStarted(Guid JobId);
