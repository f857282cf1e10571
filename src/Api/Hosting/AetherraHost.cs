using System.Text.Json;
using System.Text.Json.Serialization;
using Aetherra.Api.Auth;
using Aetherra.Api.Cluster;
using Aetherra.Api.OperatorConsole;
using Aetherra.Api.Health;
using Aetherra.Api.Http;
using Aetherra.Api.Mcp;
using Aetherra.Application.Audit.Log;
using Aetherra.Application.Homeostasis;
using Aetherra.Application.Keys;
using Aetherra.Application.Memory;
using Aetherra.Application.Plugins;
using Aetherra.Application.Recall;
using Aetherra.Application.Scripts;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.AuditLog;
using Aetherra.Infrastructure.Crypto;
using Aetherra.Infrastructure.Idempotency;
using Aetherra.Infrastructure.Keys;
using Aetherra.Infrastructure.Logging;
using FluentValidation;
using JasperFx;
using JasperFx.CodeGeneration;
using Marten;
using Microsoft.AspNetCore.Authentication;
using Npgsql;
using Scalar.AspNetCore;
using Serilog;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;

namespace Aetherra.Api.Hosting;

public static class AetherraHost
{
    /// <summary>Largest request body: a full batch of 1000 memories at the content limit fits.</summary>
    public const long MaxRequestBytes = 32 * 1024 * 1024;

    /// <summary>
    /// The store's shape in one place (every feature's event names, documents and projections), except the
    /// projections that take services: the live store, a store of the same shape in a schema of its own for an
    /// analysis rebuild (Application/Operations/AnalysisRebuild.cs), and the benchmarks' baseline store.
    /// </summary>
    /// <param name="placement">Tenants over several databases (docs/scaling.md); null or one database: the default tenancy.</param>
    public static void ConfigureStore(StoreOptions opts, NpgsqlDataSource dataSource, HomeostasisSettings homeostasis, string schema,
        Infrastructure.Database.TenantDatabases? placement = null)
    {
        MartenDefaults.Apply(opts, dataSource, schema);
        if (placement is { Placed: true }) opts.Tenancy = new Infrastructure.Database.PlacedTenancy(opts, placement);
        Application.Audit.Configuration.Configure(opts);
        MemoryConfiguration.Configure(opts);
        RecallConfiguration.Configure(opts);
        HomeostasisConfiguration.Configure(opts, homeostasis);
        PluginConfiguration.Configure(opts);
        Application.Decisions.DecisionConfiguration.Configure(opts);
        Application.Operations.OperationsConfiguration.Configure(opts);
        Application.Conversations.ConversationConfiguration.Configure(opts);
        Application.Ai.AiConfiguration.Configure(opts);
        Application.Agents.AgentConfiguration.Configure(opts);
        Application.Tasks.TaskConfiguration.Configure(opts);
        Application.Changes.ChangeConfiguration.Configure(opts);
        Application.Scripts.ScriptConfiguration.Configure(opts);
        Application.SelfModel.SelfModelConfiguration.Configure(opts);
    }

    public static WebApplicationBuilder AddAetherra(this WebApplicationBuilder builder)
    {
        var settings = AetherraSettings.From(builder.Configuration);
        if (settings.Urls is { Length: > 0 } urls) builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxRequestBytes);

        var services = builder.Services;
        services.AddSerilog((_, lc) => SerilogSetup.Configure(lc, builder.Configuration));
        services.AddSingleton(settings);
        services.AddSingleton(TimeProvider.System);
        static NpgsqlDataSourceBuilder DataSourceBuilder(string connectionString)
        {
            var dataSourceBuilder = new NpgsqlDataSourceBuilder(connectionString);
            // Prepared statements unless the connection string says otherwise: planning was a third of
            // PostgreSQL's time per write (ops/bench).
            if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
                dataSourceBuilder.ConnectionStringBuilder.MaxAutoPrepare = 64;
            return dataSourceBuilder;
        }
        // Beside each database's data source, the task claim's pool of its own (ClaimConnections: no reset on close).
        var claimPools = new Dictionary<NpgsqlDataSource, NpgsqlDataSource>(ReferenceEqualityComparer.Instance);
        NpgsqlDataSource BuildDataSource(string connectionString)
        {
            var source = DataSourceBuilder(connectionString).Build();
            claimPools[source] = Infrastructure.Database.ClaimConnections.Configure(DataSourceBuilder(connectionString)).Build();
            return source;
        }
        var dataSource = BuildDataSource(settings.ConnectionString);
        services.AddSingleton(dataSource);
        // Which database holds each tenant's data: the home one only, unless AETHERRA_TENANT_DATABASES places groups.
        var databases = Infrastructure.Database.TenantDatabases.From(builder.Configuration, dataSource, BuildDataSource);
        services.AddSingleton(databases);
        services.AddSingleton(new Infrastructure.Database.ClaimConnections(databases, claimPools));
        services.AddSingleton(new MasterKey(settings.MasterKey));
        services.AddSingleton<SubjectKeyStore>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<Infrastructure.Jobs.JobRunner>();
        services.AddSingleton<Application.Operations.ProjectionOperations>();
        services.AddSingleton<Application.Operations.DeadLetters>();
        services.AddClusterTimer<Application.Operations.DeadLetters>("dead-letters");
        services.AddSingleton<Application.Events.EventFeed>();
        services.AddSingleton<Application.Events.HighWaterSignals>();
        services.AddHostedService(sp => sp.GetRequiredService<Application.Events.HighWaterSignals>());
        services.AddSingleton(AuditLogSettings.From(builder.Configuration, settings.MasterKey));
        services.AddSingleton<AuditSigner>();
        // One Merkle log per database (AuditLogs); the singletons below are the home database's.
        services.AddSingleton<AuditLogs>();
        services.AddSingleton(sp => sp.GetRequiredService<AuditLogs>().Home.Store);
        services.AddSingleton(sp => sp.GetRequiredService<AuditLogs>().Home.Verifier);
        services.AddSingleton<CheckpointPublisher>();
        services.AddSingleton(Application.Decisions.AutonomySettings.From(builder.Configuration));
        services.AddSingleton(Application.Exports.ExportFiles.From(builder.Configuration));
        services.AddSingleton<Application.Exports.ExportJobs>();
        var homeostasis = HomeostasisSettings.From(builder.Configuration);
        services.AddSingleton(homeostasis);
        services.AddSingleton<Infrastructure.Telemetry.VitalRecorder>();
        services.AddSingleton<Corrections>();
        services.AddSingleton<VitalsSampler>();
        // On exactly one node of the cluster each (Wolverine singular agents), moved when that node dies.
        services.AddClusterTimer<VitalsSampler>("vitals");
        services.AddClusterTimer<CheckpointPublisher>("checkpoints");
        services.AddPlugins(PluginSettings.From(builder.Configuration));
        Application.Plugins.Hub.HubConfiguration.AddHub(services, builder.Configuration);
        services.AddClusterTimer<Application.Plugins.Hub.HubScheduledSync>("hub-sync");
        Application.Conversations.ConversationServices.AddConversations(services);
        Application.Ai.AiConfiguration.AddAi(services, builder.Configuration);
        Application.SelfModel.SelfModelConfiguration.AddSelfModel(services, builder.Configuration);
        services.AddClusterTimer<Application.SelfModel.PeriodicSelfSnapshots>("self-snapshots");

        services.AddSingleton(new Application.Operations.StoreShape((opts, schema, sp) =>
        {
            ConfigureStore(opts, dataSource, homeostasis, schema);
            RecallConfiguration.AddRecallProjection(opts, sp);
        }));
        services.AddSingleton<Application.Operations.AnalysisRebuild>();
        services.AddMarten(opts => ConfigureStore(opts, dataSource, homeostasis, AetherraSettings.Schema, databases))
            .AddRecall()
            .AddScripts()
            .ApplyAllDatabaseChangesOnStartup()
            // Async projections run under Wolverine's agent distribution: each on exactly one node of the
            // cluster, moved to another node when that one dies (DESIGN.md, "Scaling past one machine").
            .IntegrateWithWolverine(m =>
            {
                // AETHERRA_ASYNC_DAEMON=off: no async projection runs in this process (measurement only: recall,
                // the Merkle log and every other async read model stop; docs/benchmarks.md, "Single writes: where the CPU goes").
                m.UseWolverineManagedEventSubscriptionDistribution = builder.Configuration["AETHERRA_ASYNC_DAEMON"] != "off";
                // Several databases: Wolverine's nodes, leadership and envelopes of the cluster stay in the home one.
                if (databases.Placed) m.MasterDataSource = dataSource;
            });
        // After Marten's own start-up work, which applies its schema first.
        services.AddHostedService<StartupTasks>();
        var cluster = ClusterSettings.From(builder.Configuration);
        services.AddSingleton(cluster);
        services.AddSingleton<ClusterMembership>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterMembership>());

        services.CritterStackDefaults(x =>
        {
            // Pre-generated code everywhere (ops/codegen writes it; ops/test fails when it is stale):
            // start-up and first requests never wait for a compiler.
            x.Production.GeneratedCodeMode = TypeLoadMode.Static;
            x.Development.GeneratedCodeMode = TypeLoadMode.Static;
            x.Production.ResourceAutoCreate = AutoCreate.CreateOrUpdate;
        });
        builder.Host.UseWolverine(opts =>
        {
            opts.ApplicationAssembly = typeof(AetherraHost).Assembly;
            opts.CodeGeneration.TypeLoadMode = TypeLoadMode.Static;
            // The leader assigns the async projections after its first health check: a few seconds by
            // default, during which read-your-writes on recall would wait. Half a second is enough.
            opts.Durability.FirstHealthCheckExecution = TimeSpan.FromMilliseconds(500);
            opts.Durability.HealthCheckPollingTime = ClusterSettings.Heartbeat;
            // How long a killed node's projections and timers wait before another node takes them over.
            opts.Durability.StaleNodeTimeout = cluster.StaleAfter;
            Application.Scripts.ScriptConfiguration.ConfigureWolverine(opts);
            Application.Conversations.ConversationServices.ConfigureMessaging(opts);
        });

        services.AddValidatorsFromAssemblyContaining<RecordMemoryValidator>(ServiceLifetime.Singleton);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        });

        services.AddSingleton<AuthenticationLoggers>();
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorization(o =>
        {
            foreach (var scope in Scopes.All)
                o.AddPolicy(scope, p => p.RequireAuthenticatedUser().RequireAssertion(c => c.User.HasScope(scope)));
            o.AddPolicy(Policies.AdminOrOperator, p => p.RequireAuthenticatedUser()
                .RequireAssertion(c => c.User.HasScope(Scopes.Admin) || c.User.HasScope(Scopes.Operator)));
            // Every route authenticates unless it says otherwise (only the probes and the docs do).
            o.FallbackPolicy = new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        });

        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Instance ??= c.HttpContext.Request.Path;
            c.ProblemDetails.Extensions["requestId"] = c.HttpContext.TraceIdentifier;
        });
        services.AddExceptionHandler<LastResortExceptionHandler>();
        services.AddAetherraRateLimiting(RateLimitSettings.From(builder.Configuration));
        services.AddOpenApi(OpenApiDocumentation.Configure);
        services.AddAetherraTelemetry(builder.Configuration);
        services.AddWolverineHttp();
        services.AddAetherraMcpHttp();
        return builder;
    }

    public static WebApplication UseAetherra(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseSerilogRequestLogging(o =>
        {
            o.MessageTemplate = "{RequestMethod} {RequestPath} answered {StatusCode} in {Elapsed:0.0} ms";
            // A client's mistake (4xx) is a warning of one line; only our faults (5xx) are errors.
            o.GetLevel = (http, _, exception) => exception is not null || http.Response.StatusCode >= 500 ? Serilog.Events.LogEventLevel.Error
                : http.Response.StatusCode >= 400 ? Serilog.Events.LogEventLevel.Warning : Serilog.Events.LogEventLevel.Information;
        });
        app.UseRouting();
        app.UseAuthentication();
        app.UseMiddleware<IdempotencyMiddleware>();
        app.UseMiddleware<AuditMiddleware>();
        app.UseAetherraRateLimiting();
        // Kestrel enforces MaxRequestBodySize only as the body is read, and the JSON binder answers any read
        // failure with 400: a body declared too large is refused here, as 413, before anything reads it.
        app.Use((context, next) => context.Request.ContentLength > MaxRequestBytes
            ? Problems.Write(context, StatusCodes.Status413PayloadTooLarge, "Request too large",
                $"A request body is at most {MaxRequestBytes} bytes.")
            : next(context));
        app.UseAuthorization();
        app.UseMiddleware<MetricsRedaction>();
        app.UseMiddleware<ProblemMiddleware>();
        // Route values and query strings no store can take are refused here, for every route (bodies: ValidationPolicy).
        app.UseMiddleware<InputGuardMiddleware>();

        app.MapHealth();
        app.MapMetrics();
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/docs").AllowAnonymous();
        app.MapConsole();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var url in app.Urls)
                app.Logger.LogInformation("Operator console: {ConsoleUrl}/console (sign in with an API key)", url.TrimEnd('/'));
        });
        app.MapWolverineEndpoints(opts =>
        {
            opts.AddPolicy<ValidationPolicy>();
            // "?limit=abc" is bad input: a 400 problem, never the parameter's default silently.
            opts.RejectUnparseableQueryValues = true;
        });
        Api.Events.EventEndpoints.MapEventStream(app);
        app.MapAetherraMcp();
        return app;
    }
}
