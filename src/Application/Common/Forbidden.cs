namespace Aetherra.Application.Common;

/// <summary>
/// The caller may use the route but not for this request (a tenant's administrator asking for what only the
/// operator may do, say). Only for requests that name nothing of another tenant: those are <see cref="NotFound"/>.
/// </summary>
public sealed class Forbidden(string message) : Exception(message);
