using System.Runtime.CompilerServices;
using Aetherra.Application.Common;

namespace Aetherra.Api.Http;

/// <summary>
/// The one place an accepted command's outcome becomes a status: endpoints answer with it, and the command's audit
/// record (written by Application in the command's own transaction) stores it, whatever the channel.
/// </summary>
public static class OutcomeStatus
{
    public static int Of(Outcome outcome) => outcome switch
    {
        Outcome.Created => StatusCodes.Status201Created,
        Outcome.Done => StatusCodes.Status200OK,
        Outcome.Nothing => StatusCodes.Status204NoContent,
        Outcome.Started => StatusCodes.Status202Accepted,
        Outcome.Refused => StatusCodes.Status422UnprocessableEntity,
        Outcome.Gone => StatusCodes.Status410Gone,
        Outcome.UpstreamFailed => StatusCodes.Status502BadGateway,
        Outcome.UpstreamTimedOut => StatusCodes.Status504GatewayTimeout,
        Outcome.Abandoned => 499, // nginx's "client closed request", as the problem middleware answers it
        Outcome.Failed => StatusCodes.Status500InternalServerError,
        Outcome.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };

    /// <summary>The answer to a command: 201 with the new resource's location, else the outcome's status with the body.</summary>
    public static IResult Answer<T>(Outcome outcome, string location, T body) => outcome switch
    {
        Outcome.Created => Results.Created(location, body),
        Outcome.Done => Results.Ok(body),
        _ => Results.Json(body, statusCode: Of(outcome)),
    };

    // Before anything of the host runs (HTTP, MCP, background work), so that Application's commits find the table.
#pragma warning disable CA2255
    [ModuleInitializer]
    internal static void Install() => Outcomes.AnswerWith(Of, e => Problems.Describe(e)?.Status);
#pragma warning restore CA2255
}
