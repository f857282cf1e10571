using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Audit;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Audit;

public static class AuditEndpoints
{
    [WolverineGet("/audit", OperationId = "audit.list"), Authorize(Policy = Scopes.AuditRead)]
    public static async Task<IResult> List(
        string? actor, string? action, string? stream, DateTimeOffset? from, DateTimeOffset? to, long? after, int? limit,
        long? minSequence, HttpContext http, IValidator<AuditQuery> validator, IDocumentStore store, TenantDatabases databases,
        TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        var query = new AuditQuery(actor, action, stream, from, to, after, limit);
        var validation = await validator.ValidateAsync(query, ct);
        if (!validation.IsValid) return RequestValidation.Invalid(http, validation);
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return Results.Ok(await ReadAudit.Handle(session, query, ct));
    }
}
