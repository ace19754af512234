// Sends one message with Jakarta Mail, as an application would: STARTTLS required, the server's
// certificate checked against the CA file (and its name), AUTH as Jakarta Mail chooses.
// Arguments: host port user password cafile sender recipient subject text html
// [attachment-name attachment-file]. Compiled by tests/recordreplay/real_clients.py.
import jakarta.activation.DataHandler;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.util.ByteArrayDataSource;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Properties;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class SendJakarta {
    public static void main(String[] args) throws Exception {
        KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
        trusted.load(null, null);
        try (FileInputStream ca = new FileInputStream(args[4])) {
            trusted.setCertificateEntry("smtprig-test-ca",
                CertificateFactory.getInstance("X.509").generateCertificate(ca));
        }
        TrustManagerFactory trust =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, trust.getTrustManagers(), null);

        Properties properties = new Properties();
        properties.put("mail.smtp.host", args[0]);
        properties.put("mail.smtp.port", args[1]);
        properties.put("mail.smtp.auth", "true");
        properties.put("mail.smtp.starttls.enable", "true");
        properties.put("mail.smtp.starttls.required", "true");
        properties.put("mail.smtp.ssl.socketFactory", tls.getSocketFactory());
        properties.put("mail.smtp.ssl.checkserveridentity", "true");
        properties.put("mail.smtp.connectiontimeout", "5000");
        properties.put("mail.smtp.timeout", "5000");
        Session session = Session.getInstance(properties);

        MimeMessage message = new MimeMessage(session);
        message.setFrom(new InternetAddress(args[5]));
        message.setRecipient(Message.RecipientType.TO, new InternetAddress(args[6]));
        message.setSubject(args[7], "UTF-8");
        MimeMultipart alternative = new MimeMultipart("alternative");
        MimeBodyPart text = new MimeBodyPart();
        text.setText(args[8], "UTF-8");
        alternative.addBodyPart(text);
        MimeBodyPart html = new MimeBodyPart();
        html.setText(args[9], "UTF-8", "html");
        alternative.addBodyPart(html);
        MimeMultipart mixed = new MimeMultipart("mixed");
        MimeBodyPart body = new MimeBodyPart();
        body.setContent(alternative);
        mixed.addBodyPart(body);
        if (args.length > 11) {
            MimeBodyPart attachment = new MimeBodyPart();
            byte[] content = Files.readAllBytes(Path.of(args[11]));
            attachment.setDataHandler(
                new DataHandler(new ByteArrayDataSource(content, "application/pdf")));
            attachment.setFileName(args[10]);
            mixed.addBodyPart(attachment);
        }
        message.setContent(mixed);
        message.setSentDate(new java.util.Date());
        Transport.send(message, args[2], args[3]);
    }
}
