// CommonJS consumers: every package through require (Node 20.19+ loads ES modules with require).
import amqp = require('@kubefork/amqp');
import auto = require('@kubefork/auto');
import cli = require('@kubefork/cli');
import context = require('@kubefork/context');
import integration = require('@kubefork/context/integration');
import controller = require('@kubefork/controller');
import express = require('@kubefork/express');
import fastify = require('@kubefork/fastify');
import fetch = require('@kubefork/fetch');
import grpc = require('@kubefork/grpc');
import http = require('@kubefork/http');
import kafka = require('@kubefork/kafka');
import nats = require('@kubefork/nats');
import otel = require('@kubefork/otel');

const modules = {
  amqp,
  auto,
  cli,
  context,
  integration,
  controller,
  express,
  fastify,
  fetch,
  grpc,
  http,
  kafka,
  nats,
  otel,
};
const keys = Object.fromEntries(
  Object.entries(modules).map(([name, module]) => [
    name,
    Object.keys(module)
      .filter((key) => key !== 'default' && key !== '__esModule' && key !== 'module.exports')
      .sort(),
  ]),
);
const id: string | undefined = context.runWithForkId('dave', () => context.getForkId());
console.log(JSON.stringify({ keys, id }));
