//! The cache, database and broker checks against real servers: the system ones started by
//! `scripts/test.sh` (PostgreSQL 5432, Redis 6379, MariaDB 3306, RabbitMQ 5672, memcached
//! 11211) and private instances each test owns on its own port. Where a reference tool
//! exists (`pg_isready`, `redis-cli ping`, `mysqladmin ping`), the check must agree with it
//! against the same server in the same state. Run with `--nocapture` to see the agreement
//! tables.

mod fakes;
mod servers;
mod support;

mod amqp;
mod memcached;
#[cfg(feature = "postgres-query")]
mod migrations;
mod misbehaving;
mod mysql;
mod postgres;
#[cfg(feature = "postgres-query")]
mod postgres_query;
mod redis;
