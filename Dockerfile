# One image recipe for every runnable project of the Order Flow Console.
#
#   docker build --build-arg PROJECT=Console.Ingest/Console.Ingest.csproj \
#                --build-arg ASSEMBLY=Console.Ingest.dll -t orderflow/ingest .
#
# docker-compose.yml builds ingest, web and simulator from this file with their own arguments.

ARG DOTNET_VERSION=10.0

# ---- restore inputs: only the files restore reads, so that the restore layer below stays cached
# ---- until a project or props file changes (source edits do not invalidate it).
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS restore-inputs
WORKDIR /src
COPY . .
RUN mkdir /restore-inputs \
 && find . -type f \( -name '*.csproj' -o -name '*.props' -o -name '*.targets' -o -name '*.sln' \
      -o -name 'global.json' -o -name 'packages.lock.json' \) \
      -exec cp --parents {} /restore-inputs/ \;

# ---- build -----------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
ARG PROJECT
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
WORKDIR /src
RUN test -n "$PROJECT" || { echo "Dockerfile: pass --build-arg PROJECT=<path to .csproj>" >&2; exit 1; }

# In an image nuget.org serves every package, librdkafka.redist included. The repo's nuget.config
# routes librdkafka.redist to the machine-local feed tools/nuget-feed (self-built packages there are
# kept out of the build context by .dockerignore), so restore uses this nuget.org-only config.
RUN printf '%s\n' '<?xml version="1.0" encoding="utf-8"?>' '<configuration>' '  <packageSources>' \
      '    <clear />' '    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />' \
      '  </packageSources>' '</configuration>' > /nuget.docker.config

COPY --from=restore-inputs /restore-inputs/ ./
RUN dotnet restore "$PROJECT" --configfile /nuget.docker.config

COPY . .
RUN dotnet publish "$PROJECT" -c Release -o /app --no-restore -p:UseAppHost=false

# ---- runtime ---------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS runtime
ARG ASSEMBLY
RUN test -n "$ASSEMBLY" || { echo "Dockerfile: pass --build-arg ASSEMBLY=<name>.dll" >&2; exit 1; }
ENV APP_ASSEMBLY=${ASSEMBLY}
WORKDIR /app
COPY --from=build /app ./
RUN test -f "/app/$APP_ASSEMBLY" || { echo "Dockerfile: /app/$APP_ASSEMBLY was not published" >&2; exit 1; }
# The .NET images ship a non-root user; its id is in APP_UID.
USER $APP_UID
EXPOSE 8080
# exec: dotnet becomes PID 1 and receives SIGTERM from `docker stop` for a graceful shutdown.
ENTRYPOINT ["/bin/sh", "-c", "exec dotnet \"/app/$APP_ASSEMBLY\" \"$@\"", "--"]
