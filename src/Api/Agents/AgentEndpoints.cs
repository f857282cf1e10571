using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Agents;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure.Database;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Agents;

/// <summary>Agents as identities: register, suspend, resume, and the profile gathered across features.</summary>
public static class AgentEndpoints
{
    [WolverinePost("/agents", OperationId = AgentActions.Register), Authorize(Policy = Scopes.TasksWrite)]
    public static async Task<IResult> Register(RegisterAgent body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var r = await RegisterAgentHandler.Handle(body, http.Command(), store, clock, ct);
        return Results.Created($"/agents/{r.Name}", r);
    }

    [WolverinePost("/agents/{name}/suspend", OperationId = AgentActions.Suspend), Authorize(Policy = Scopes.TasksWrite)]
    public static Task<AgentResult> Suspend(string name, SuspendAgent body, HttpContext http, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        SuspendAgentHandler.Handle(name, body, http.Command(), store, clock, ct);

    [WolverinePost("/agents/{name}/resume", OperationId = AgentActions.Resume), Authorize(Policy = Scopes.TasksWrite)]
    public static Task<AgentResult> Resume(string name, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct) =>
        ResumeAgentHandler.Handle(name, http.Command(), store, clock, ct);

    [WolverineGet("/agents/{name}", OperationId = "agent.get"), Authorize(Policy = Scopes.TasksRead)]
    public static async Task<AgentProfile> Get(string name, long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases,
        TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return await ReadAgent.Handle(name, session, ct);
    }
}
