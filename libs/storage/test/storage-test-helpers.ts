import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
// Test-only use of the shared harness; the type:data-access constraint is meant for src/.
export { stackEndpoints, uniqueName, waitUntil } from '@meterkeep/testing';

/** Empties and removes a test bucket, unfinished multipart uploads included. */
export async function deleteBucket(client: S3Client, bucket: string): Promise<void> {
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const upload of uploads.Uploads ?? []) {
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }),
    );
  }
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? [])
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
    token = page.NextContinuationToken;
  } while (token);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** A TCP server that accepts connections and never answers: a hung server only timeouts can catch. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
