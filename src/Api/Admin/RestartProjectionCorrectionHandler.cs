using Aetherra.Application.Operations;

namespace Aetherra.Api.Admin;

/// <summary>The projection correction's handler: restarts the projection's agent on this node, where the message is handled.</summary>
public static class RestartProjectionCorrectionHandler
{
    public static async Task<ProjectionRestarted> Handle(RestartProjectionCorrection message, ProjectionOperations projections, CancellationToken ct) =>
        new(message.Projection, await projections.RestartAsync(message.Projection, ct));
}
